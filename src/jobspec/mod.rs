//! Nomad HCL job files parsed into the job model. Pure: text in, job out.
