# A batch job: runs to completion once; a task that exits 0 is not run again.
job "report" {
  datacenters = ["*"]
  type        = "batch"

  group "report" {
    count = 3

    # Up to two restarts in place, then one reschedule elsewhere.
    restart {
      attempts = 2
      interval = "10m"
      delay    = "5s"
      mode     = "fail"
    }

    reschedule {
      attempts  = 1
      interval  = "1h"
      delay     = "10s"
      unlimited = false
    }

    task "count-words" {
      driver = "container"

      config {
        image   = "busybox:local"
        command = "/bin/sh"
        args    = ["-c", "echo \"shard $NOMAD_ALLOC_INDEX of $NOMAD_JOB_NAME\"; seq 1 1000 | wc -l"]
      }

      resources {
        cpu    = 50
        memory = 32
      }
    }
  }
}
