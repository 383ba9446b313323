# A service job: long-running tasks the cluster keeps at the requested count.
# `drover job init` writes this file as a starting point; every block is explained where it appears.
job "web" {
  # Where the job may run: datacenter names (globs allowed) and a node pool.
  datacenters = ["*"]
  node_pool   = "default"
  type        = "service"

  # Roll out new versions one allocation at a time; roll back by itself if the new one never gets healthy.
  update {
    max_parallel     = 1
    health_check     = "task_states"
    min_healthy_time = "5s"
    healthy_deadline = "2m"
    auto_revert      = true
  }

  group "web" {
    # How many copies to run.
    count = 2

    # One dynamic host port per allocation, labelled "http" ($NOMAD_PORT_http inside the task).
    network {
      port "http" {}
    }

    # Registered with Drover's own service catalogue (`provider = "nomad"`), checked over HTTP.
    service {
      name     = "web"
      port     = "http"
      provider = "nomad"
      tags     = ["frontend"]

      check {
        type     = "http"
        path     = "/"
        interval = "10s"
        timeout  = "2s"
      }
    }

    # Restart a failed task twice within 5 minutes, then give up on this allocation (it is rescheduled).
    restart {
      attempts = 2
      interval = "5m"
      delay    = "10s"
      mode     = "fail"
    }

    task "httpd" {
      # `container` runs an OCI image with libcontainer; `docker` job files work too.
      driver = "container"

      config {
        image   = "busybox:local"
        command = "/bin/sh"
        args    = ["-c", "mkdir -p /local/www && echo \"hello from $NOMAD_ALLOC_NAME\" > /local/www/index.html && exec httpd -f -p $NOMAD_PORT_http -h /local/www"]
      }

      env {
        GREETING = "hello"
      }

      # What the scheduler reserves: CPU in MHz, memory in MB.
      resources {
        cpu    = 100
        memory = 64
      }

      # Send SIGTERM, wait up to 10s, then SIGKILL.
      kill_timeout = "10s"
    }
  }
}
