//! `GET /v1/client/allocation/:id/exec?task=&command=["…"]&tty=` (websocket): Nomad's `alloc exec`.
//! The client runs the command through `client::exec` and streams its input and output as the frames
//! of `api::exec`; a server that does not run the allocation relays the websocket to its client.

use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, Query, RawQuery, State};
use axum::response::Response;
use futures::{SinkExt, StreamExt};
use serde::Deserialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;

use crate::api::exec::{ExecFrame, StreamFrame};
use crate::client::control::ClientControl;
use crate::client::exec::{self, ExecSession, Reader};

use super::error::ApiError;
use super::logs::locate_alloc;
use super::HttpState;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ExecQuery {
    pub task: String,
    /// A JSON array of strings.
    pub command: String,
    #[serde(deserialize_with = "super::query::go_bool")]
    pub tty: bool,
}

/// The task and argv of a request, checked before the websocket is accepted.
fn check(q: &ExecQuery) -> Result<Vec<String>, ApiError> {
    if q.task.is_empty() {
        return Err(ApiError::bad_request("missing task name (?task=)"));
    }
    let command: Vec<String> =
        serde_json::from_str(&q.command).map_err(|_| ApiError::bad_request("command must be a JSON array of strings (?command=)"))?;
    if command.first().is_none_or(|c| c.is_empty()) {
        return Err(ApiError::bad_request("command is empty"));
    }
    Ok(command)
}

fn text(frame: &ExecFrame) -> Message {
    Message::Text(frame.to_json().into())
}

/// Client agents: run the command in the task.
pub async fn client_exec(
    State(control): State<ClientControl>,
    Path(alloc): Path<String>,
    Query(q): Query<ExecQuery>,
    ws: WebSocketUpgrade,
) -> Result<Response, ApiError> {
    let command = check(&q)?;
    Ok(ws.on_upgrade(move |socket| session(socket, control, alloc, q.task, command, q.tty)))
}

/// Server agents: run it here (`-dev`), or relay the websocket to the allocation's client.
pub async fn exec(
    State(st): State<HttpState>,
    Path(alloc): Path<String>,
    Query(q): Query<ExecQuery>,
    RawQuery(raw): RawQuery,
    ws: WebSocketUpgrade,
) -> Result<Response, ApiError> {
    let command = check(&q)?;
    let (alloc_id, node_addr) = locate_alloc(&st, &alloc)?;
    let local = st.alloc_root.as_ref().is_some_and(|r| r.join(&alloc_id).is_dir());
    if let Some(control) = st.client.clone().filter(|_| local) {
        return Ok(ws.on_upgrade(move |socket| session(socket, control, alloc_id, q.task, command, q.tty)));
    }
    if node_addr.is_empty() {
        return Err(ApiError::not_found(format!("allocation {alloc_id} has no reachable client")));
    }
    let host = node_addr.trim_start_matches("http://").trim_start_matches("https://").to_string();
    let url = format!("ws://{host}/v1/client/allocation/{alloc_id}/exec?{}", raw.unwrap_or_default());
    Ok(ws.on_upgrade(move |socket| relay(socket, url)))
}

/// Sends the frames of one output stream until it ends, then its close frame.
async fn pump(mut from: Reader, stream: &'static str, tx: mpsc::Sender<Message>) {
    let mut buf = vec![0u8; 32 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let frame = StreamFrame::data(&buf[..n]);
        let f = if stream == "stdout" {
            ExecFrame { stdout: Some(frame), ..Default::default() }
        } else {
            ExecFrame { stderr: Some(frame), ..Default::default() }
        };
        if tx.send(text(&f)).await.is_err() {
            return;
        }
    }
    let f = if stream == "stdout" {
        ExecFrame { stdout: Some(StreamFrame::close()), ..Default::default() }
    } else {
        ExecFrame { stderr: Some(StreamFrame::close()), ..Default::default() }
    };
    let _ = tx.send(text(&f)).await;
}

/// Closes the socket with an error reason (Nomad's CLI prints it).
async fn fail(mut socket: WebSocket, message: String) {
    let err = ExecFrame { stderr: Some(StreamFrame::data(format!("{message}\n").as_bytes())), ..Default::default() };
    let _ = socket.send(text(&err)).await;
    let _ = socket.send(Message::Close(Some(CloseFrame { code: 1011, reason: message.into() }))).await;
}

/// One exec: starts the command, relays input and output, and ends with its exit code.
async fn session(socket: WebSocket, control: ClientControl, alloc_id: String, task: String, command: Vec<String>, tty: bool) {
    let ExecSession { mut child, stdin, stdout, stderr, pty } = match exec::start(&control, &alloc_id, &task, &command, tty) {
        Ok(s) => s,
        Err(e) => return fail(socket, e.to_string()).await,
    };
    let (mut sink, mut incoming) = socket.split();
    let (tx, mut rx) = mpsc::channel::<Message>(64);
    let writer = tokio::spawn(async move {
        while let Some(m) = rx.recv().await {
            if sink.send(m).await.is_err() {
                return;
            }
        }
        let _ = sink.send(Message::Close(Some(CloseFrame { code: 1000, reason: "".into() }))).await;
    });
    let mut pumps = vec![tokio::spawn(pump(stdout, "stdout", tx.clone()))];
    if let Some(e) = stderr {
        pumps.push(tokio::spawn(pump(e, "stderr", tx.clone())));
    }
    // stdin is written by its own task so a command that does not read cannot stall the session.
    let (in_tx, mut in_rx) = mpsc::channel::<Vec<u8>>(64);
    let mut stdin_task = Some(tokio::spawn(async move {
        let mut stdin = stdin;
        while let Some(data) = in_rx.recv().await {
            if stdin.write_all(&data).await.is_err() || stdin.flush().await.is_err() {
                return;
            }
        }
        let _ = stdin.shutdown().await;
    }));
    let mut in_tx = Some(in_tx);
    let status = loop {
        tokio::select! {
            status = child.wait() => break status.ok(),
            msg = incoming.next() => match msg {
                Some(Ok(Message::Text(t))) => {
                    let Ok(frame) = serde_json::from_str::<ExecFrame>(t.as_str()) else { continue };
                    if let Some(input) = frame.stdin {
                        let data = input.bytes();
                        if let Some(in_tx) = in_tx.as_ref().filter(|_| !data.is_empty()) {
                            let _ = in_tx.send(data).await;
                        }
                        if input.close {
                            in_tx = None;
                        }
                    }
                    if let (Some(size), Some(master)) = (frame.tty_size, pty.as_ref()) {
                        exec::resize(master, size.height, size.width);
                    }
                }
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => {
                    tracing::info!(alloc_id = %alloc_id, task = %task, "exec client went away; ending the command");
                    break end(&mut child).await;
                }
                Some(Ok(_)) => {}
            }
        }
    };
    drop(in_tx);
    if let Some(t) = stdin_task.take() {
        t.abort();
    }
    // Output still buffered in the pipes is sent before the exit code (a background process that keeps
    // them open does not hold the session up for long).
    for p in pumps {
        let _ = tokio::time::timeout(Duration::from_secs(2), p).await;
    }
    drop(pty);
    let code = status.map(|s| {
        use std::os::unix::process::ExitStatusExt;
        s.code().unwrap_or_else(|| 128 + s.signal().unwrap_or(0))
    });
    tracing::info!(alloc_id = %alloc_id, task = %task, exit_code = ?code, "exec finished");
    let _ = tx.send(text(&ExecFrame::exited(code.unwrap_or(-1)))).await;
    drop(tx);
    let _ = writer.await;
}

/// Asks the exec process to end its command (SIGTERM: it kills the command), then kills it.
async fn end(child: &mut tokio::process::Child) -> Option<std::process::ExitStatus> {
    if let Some(pid) = child.id().and_then(|p| i32::try_from(p).ok()) {
        let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGTERM);
    }
    match tokio::time::timeout(Duration::from_secs(3), child.wait()).await {
        Ok(status) => status.ok(),
        Err(_) => {
            let _ = child.start_kill();
            child.wait().await.ok()
        }
    }
}

fn to_upstream(m: Message) -> Option<tokio_tungstenite::tungstenite::Message> {
    use tokio_tungstenite::tungstenite::Message as T;
    match m {
        Message::Text(t) => Some(T::Text(t.as_str().to_string().into())),
        Message::Binary(b) => Some(T::Binary(b)),
        Message::Close(_) => Some(T::Close(None)),
        _ => None,
    }
}

fn from_upstream(m: tokio_tungstenite::tungstenite::Message) -> Option<Message> {
    use tokio_tungstenite::tungstenite::Message as T;
    match m {
        T::Text(t) => Some(Message::Text(t.as_str().to_string().into())),
        T::Binary(b) => Some(Message::Binary(b)),
        T::Close(c) => Some(Message::Close(c.map(|c| CloseFrame { code: c.code.into(), reason: c.reason.as_str().to_string().into() }))),
        _ => None,
    }
}

/// Relays a websocket to the client that runs the allocation, both ways, until the client's side ends.
async fn relay(socket: WebSocket, url: String) {
    let upstream = match tokio_tungstenite::connect_async(&url).await {
        Ok((ws, _)) => ws,
        Err(e) => return fail(socket, format!("client {url}: {e}")).await,
    };
    let (mut up_tx, mut up_rx) = upstream.split();
    let (mut down_tx, mut down_rx) = socket.split();
    let input = tokio::spawn(async move {
        while let Some(Ok(m)) = down_rx.next().await {
            let Some(m) = to_upstream(m) else { continue };
            if up_tx.send(m).await.is_err() {
                break;
            }
        }
        let _ = up_tx.close().await;
    });
    while let Some(Ok(m)) = up_rx.next().await {
        let Some(m) = from_upstream(m) else { continue };
        let closing = matches!(m, Message::Close(_));
        if down_tx.send(m).await.is_err() || closing {
            break;
        }
    }
    let _ = down_tx.close().await;
    input.abort();
}
