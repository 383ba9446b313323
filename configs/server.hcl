# A Drover server agent: `drover agent -config configs/server.hcl`.
# Written as a Nomad agent configuration; keys Drover does not use are accepted with a warning.

name       = "server-1"
region     = "global"
datacenter = "dc1"
data_dir   = "/var/lib/drover"

# Listen on every interface, and tell the other agents which address reaches this one.
bind_addr = "0.0.0.0"

ports {
  http = 4646
  rpc  = 4647
}

advertise {
  http = "10.0.0.11"
  rpc  = "10.0.0.11"
}

log_level = "INFO"

server {
  enabled          = true
  bootstrap_expect = 3

  server_join {
    retry_join     = ["10.0.0.12", "10.0.0.13"]
    retry_max      = 0
    retry_interval = "15s"
  }

  heartbeat_grace = "10s"
  num_schedulers  = 2
}
