//! Operator snapshot files: gzip of one JSON header line (`Format`, `Version`, Raft `Index`, state length and SHA-256) and the `ClusterState` as JSON.
//!
//! The header comes first so a reader can refuse a foreign or newer file before parsing the state;
//! the length and checksum catch truncation and corruption that gzip's own CRC would report less clearly.

use std::io::{BufRead, BufReader, Read, Write};

use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use flate2::Compression;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::core::state::ClusterState;

/// The `Format` of every Drover snapshot file.
pub const FORMAT: &str = "drover-snapshot";
/// The newest format version this build writes and reads.
pub const VERSION: u32 = 1;
/// The longest header line read before giving up on a file.
const MAX_HEADER_BYTES: u64 = 4096;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Header {
    pub format: String,
    pub version: u32,
    /// Raft index of the last command applied to the saved state.
    pub index: u64,
    /// Length of the state's JSON, in bytes.
    pub state_bytes: u64,
    /// SHA-256 of the state's JSON, lower-case hex.
    pub state_sha256: String,
    /// The Drover version that wrote the file.
    #[serde(default)]
    pub drover_version: String,
}

#[derive(Debug, thiserror::Error)]
pub enum SnapshotFileError {
    #[error("not a drover snapshot file: it is not gzip data")]
    NotGzip,
    #[error("not a drover snapshot file: {0}")]
    Foreign(String),
    #[error("snapshot format version {found} is newer than this drover understands ({VERSION})")]
    Version { found: u32 },
    #[error("snapshot file is corrupt: {0}")]
    Corrupt(String),
    #[error("snapshot state is {size} bytes; the limit is {limit} bytes")]
    TooLarge { size: u64, limit: u64 },
    #[error("snapshot state does not decode: {0}")]
    State(serde_json::Error),
    #[error("encode snapshot: {0}")]
    Encode(String),
}

/// Writes `state` as a snapshot file.
pub fn encode(state: &ClusterState) -> Result<Vec<u8>, SnapshotFileError> {
    let json = serde_json::to_vec(state).map_err(|e| SnapshotFileError::Encode(e.to_string()))?;
    let header = Header {
        format: FORMAT.into(),
        version: VERSION,
        index: state.index,
        state_bytes: json.len() as u64,
        state_sha256: hex(&Sha256::digest(&json)),
        drover_version: env!("CARGO_PKG_VERSION").into(),
    };
    let mut gz = GzEncoder::new(Vec::with_capacity(json.len() / 4 + 256), Compression::default());
    let io = |e: std::io::Error| SnapshotFileError::Encode(e.to_string());
    serde_json::to_writer(&mut gz, &header).map_err(|e| SnapshotFileError::Encode(e.to_string()))?;
    gz.write_all(b"\n").map_err(io)?;
    gz.write_all(&json).map_err(io)?;
    gz.finish().map_err(io)
}

/// Reads a snapshot file: its header and the state with secondary indexes rebuilt. A state longer
/// than `max_state_bytes` is refused without reading it.
pub fn decode(bytes: &[u8], max_state_bytes: u64) -> Result<(Header, ClusterState), SnapshotFileError> {
    let (header, mut reader) = open(bytes)?;
    if header.state_bytes > max_state_bytes {
        return Err(SnapshotFileError::TooLarge { size: header.state_bytes, limit: max_state_bytes });
    }
    let mut json = Vec::with_capacity(header.state_bytes as usize);
    (&mut reader).take(header.state_bytes + 1).read_to_end(&mut json).map_err(corrupt)?;
    if json.len() as u64 != header.state_bytes {
        return Err(SnapshotFileError::Corrupt(format!("the state has {} bytes, the header says {}", json.len(), header.state_bytes)));
    }
    // read to the end, so gzip checks its trailer (CRC and length)
    let mut rest = Vec::new();
    reader.read_to_end(&mut rest).map_err(corrupt)?;
    if hex(&Sha256::digest(&json)) != header.state_sha256 {
        return Err(SnapshotFileError::Corrupt("the state's checksum does not match the header".into()));
    }
    let mut state: ClusterState = serde_json::from_slice(&json).map_err(SnapshotFileError::State)?;
    state.after_restore();
    Ok((header, state))
}

/// Reads only the header of a snapshot file.
pub fn read_header(bytes: &[u8]) -> Result<Header, SnapshotFileError> {
    open(bytes).map(|(h, _)| h)
}

/// The decompressed file after its header line.
type Body<'a> = BufReader<GzDecoder<&'a [u8]>>;

fn open(bytes: &[u8]) -> Result<(Header, Body<'_>), SnapshotFileError> {
    if !bytes.starts_with(&[0x1f, 0x8b]) {
        return Err(SnapshotFileError::NotGzip);
    }
    let mut reader = BufReader::new(GzDecoder::new(bytes));
    let mut line = Vec::new();
    (&mut reader).take(MAX_HEADER_BYTES).read_until(b'\n', &mut line).map_err(corrupt)?;
    if line.last() != Some(&b'\n') {
        return Err(SnapshotFileError::Foreign("no header line".into()));
    }
    let header: Header =
        serde_json::from_slice(&line).map_err(|e| SnapshotFileError::Foreign(format!("the header does not decode: {e}")))?;
    if header.format != FORMAT {
        return Err(SnapshotFileError::Foreign(format!("format \"{}\", expected \"{FORMAT}\"", header.format)));
    }
    if header.version > VERSION {
        return Err(SnapshotFileError::Version { found: header.version });
    }
    Ok((header, reader))
}

fn corrupt(e: std::io::Error) -> SnapshotFileError {
    SnapshotFileError::Corrupt(format!("gzip: {e}"))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::command::Command;
    use crate::core::var::Variable;

    fn state() -> ClusterState {
        let mut s = ClusterState::default();
        for i in 0..20 {
            let var = Variable {
                namespace: "default".into(),
                path: format!("app/{i}"),
                items: [("k".to_string(), format!("value {i}"))].into(),
                ..Default::default()
            };
            s.apply(i + 1, &Command::UpsertVar { var, cas: None, now: 100 + i as i64 });
        }
        s
    }

    #[test]
    fn round_trip() {
        let s = state();
        let bytes = encode(&s).unwrap();
        let (h, back) = decode(&bytes, u64::MAX).unwrap();
        assert_eq!((h.format.as_str(), h.version, h.index), (FORMAT, VERSION, 20));
        assert_eq!(back, s);
        assert_eq!(read_header(&bytes).unwrap(), h);
    }

    #[test]
    fn bad_files_are_refused() {
        let bytes = encode(&state()).unwrap();
        assert!(matches!(decode(b"{\"jobs\":[]}", u64::MAX), Err(SnapshotFileError::NotGzip)));
        // truncated
        assert!(matches!(decode(&bytes[..bytes.len() / 2], u64::MAX), Err(SnapshotFileError::Corrupt(_))));
        // a flipped byte in the compressed body or the trailer
        for at in [bytes.len() / 2, bytes.len() - 6] {
            let mut bad = bytes.clone();
            bad[at] ^= 0x40;
            assert!(decode(&bad, u64::MAX).is_err(), "flip at {at}");
        }
        // gzip of something else
        let mut gz = GzEncoder::new(Vec::new(), Compression::default());
        gz.write_all(b"{\"Format\":\"consul-snapshot\",\"Version\":1,\"Index\":1,\"StateBytes\":0,\"StateSha256\":\"\"}\n").unwrap();
        let foreign = gz.finish().unwrap();
        let err = decode(&foreign, u64::MAX).unwrap_err();
        assert!(err.to_string().contains("consul-snapshot"), "{err}");
        let mut gz = GzEncoder::new(Vec::new(), Compression::default());
        gz.write_all(b"hello").unwrap();
        assert!(matches!(decode(&gz.finish().unwrap(), u64::MAX), Err(SnapshotFileError::Foreign(_))));
        // too large for the limit
        assert!(matches!(decode(&bytes, 10), Err(SnapshotFileError::TooLarge { limit: 10, .. })));
    }
}
