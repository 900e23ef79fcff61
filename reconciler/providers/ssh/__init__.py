"""The CTs' own side: provision steps and authorized_keys over SSH (paramiko), readiness probes."""
