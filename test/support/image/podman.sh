# Sourced by the image scripts: podman as this kind of machine runs it (no systemd, no
# overlay mounts, a low default process limit): runc, cgroupfs, the vfs storage driver, and
# explicit ulimits on every build and run.
PODMAN_GLOBAL=(--runtime runc --cgroup-manager cgroupfs --storage-driver vfs)
PODMAN_ULIMITS=(--ulimit nofile=8192:8192 --ulimit nproc=4096:4096)
podman_() { podman "${PODMAN_GLOBAL[@]}" "$@"; }
