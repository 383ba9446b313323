# A system job: one allocation on every eligible client, including clients that join later.
job "node-agent" {
  datacenters = ["*"]
  type        = "system"
  priority    = 70

  # Only Linux clients.
  constraint {
    attribute = "${attr.kernel.name}"
    value     = "linux"
  }

  group "agent" {
    task "heartbeat" {
      driver = "container"

      config {
        image   = "busybox:local"
        command = "/bin/sh"
        args    = ["-c", "while true; do echo \"alive on ${node.unique.name}\"; sleep 30; done"]
      }

      resources {
        cpu    = 20
        memory = 16
      }
    }
  }
}
