# A periodic batch job: launched every 15 minutes; a launch is skipped while the previous one still runs.
job "cleanup" {
  datacenters = ["*"]
  type        = "batch"

  periodic {
    crons            = ["*/15 * * * *"]
    prohibit_overlap = true
    time_zone        = "UTC"
  }

  group "cleanup" {
    task "prune" {
      driver = "container"

      config {
        image   = "busybox:local"
        command = "/bin/sh"
        args    = ["-c", "echo \"pruning at $(date -u)\"; find /tmp -mindepth 1 -mmin +60 -delete; true"]
      }

      resources {
        cpu    = 20
        memory = 16
      }
    }
  }
}
