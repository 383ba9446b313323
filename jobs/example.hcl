# A service job: two busybox httpd containers, each on a dynamic host port, each serving a page
# that names its allocation, registered as the native service "example-web" once its http check
# passes. `drover job run jobs/example.hcl` follows the deployment until both are healthy; then curl
# the addresses that `drover service info example-web` (or `drover alloc status <id>`) shows. Change
# the page and run it again: a rolling update, one allocation at a time, rolled back if unhealthy.
job "example" {
  datacenters = ["*"]
  type        = "service"

  group "web" {
    count = 2

    update {
      max_parallel     = 1
      min_healthy_time = "2s"
      healthy_deadline = "1m"
      auto_revert      = true
    }

    network {
      port "http" {}
    }

    service {
      name     = "example-web"
      port     = "http"
      provider = "nomad"

      check {
        type     = "http"
        path     = "/"
        interval = "1s"
        timeout  = "1s"
      }
    }

    task "httpd" {
      driver = "container"

      config {
        image   = "busybox:local"
        command = "/bin/sh"
        args = [
          "-c",
          "mkdir -p /local/www && echo \"hello from allocation $NOMAD_ALLOC_ID (index $NOMAD_ALLOC_INDEX)\" > /local/www/index.html && echo \"serving on port $NOMAD_PORT_http\" && exec httpd -f -p $NOMAD_PORT_http -h /local/www",
        ]
      }

      resources {
        cpu    = 100
        memory = 64
      }
    }
  }
}
