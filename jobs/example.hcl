# A service job: two busybox httpd containers, each on a dynamic host port, each serving a page
# that names its allocation. `drover job run jobs/example.hcl`, then curl the addresses that
# `drover job status example` / `drover alloc status <id>` show.
job "example" {
  datacenters = ["*"]
  type        = "service"

  group "web" {
    count = 2

    network {
      port "http" {}
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
