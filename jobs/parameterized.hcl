# A parameterized batch job: registered once, then run on demand with `job dispatch`, each dispatch
# with its own payload (written to local/input.txt) and metadata.
job "transcode" {
  datacenters = ["*"]
  type        = "batch"

  parameterized {
    payload       = "required"
    meta_required = ["format"]
    meta_optional = ["quality"]
  }

  group "transcode" {
    task "run" {
      driver = "container"

      config {
        image   = "busybox:local"
        command = "/bin/sh"
        args    = ["-c", "echo \"converting to $NOMAD_META_format\"; wc -c local/input.txt"]
      }

      dispatch_payload {
        file = "input.txt"
      }

      meta {
        quality = "high"
      }

      resources {
        cpu    = 100
        memory = 64
      }
    }
  }
}
