# A Drover client agent: `drover agent -config configs/client.hcl`.
# Written as a Nomad agent configuration; keys Drover does not use are accepted with a warning.

name       = "client-1"
datacenter = "dc1"
data_dir   = "/var/lib/drover"
bind_addr  = "0.0.0.0"

client {
  enabled = true

  # The servers' RPC addresses (the port defaults to 4647).
  servers = ["10.0.0.11:4647", "10.0.0.12", "10.0.0.13"]

  node_class = "web"
  node_pool  = "default"

  meta {
    rack         = "r1"
    storage_kind = "ssd"
  }

  # The interface whose address tasks' ports are published on.
  network_interface = "eth0"

  # Held back for the operating system and other software.
  reserved {
    cpu            = 500
    memory         = 512
    disk           = 1024
    reserved_ports = "22,80,8500-8600"
  }

  min_dynamic_port = 20000
  max_dynamic_port = 32000

  # Ended allocations' directories are removed past this many allocations, and while the disk or
  # the inodes of the data dir are fuller than these percentages (checked every gc_interval).
  gc_max_allocs            = 50
  gc_disk_usage_threshold  = 80
  gc_inode_usage_threshold = 70
  gc_interval              = "1m"

  host_volume "data" {
    path      = "/srv/data"
    read_only = false
  }
}

# The raw_exec driver runs commands without isolation; it is off unless enabled.
plugin "raw_exec" {
  config {
    enabled = false
  }
}
