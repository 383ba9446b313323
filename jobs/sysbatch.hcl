# A sysbatch job: runs to completion once on every eligible client (an inventory, a cache warm-up, …).
job "inventory" {
  datacenters = ["*"]
  type        = "sysbatch"

  group "inventory" {
    task "collect" {
      driver = "raw_exec"

      config {
        command = "/bin/sh"
        args    = ["-c", "uname -a; cat /proc/loadavg"]
      }

      resources {
        cpu    = 20
        memory = 16
      }
    }
  }
}
