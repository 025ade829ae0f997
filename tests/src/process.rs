//! The child processes of the harnesses (`wrangler dev`, the control plane):
//! a free loopback port to give them, and stopping one with everything it
//! started.

use std::net::TcpListener;
use std::process::Child;
use std::thread;
use std::time::{Duration, Instant};

use crate::Result;

/// A port nothing listens on now (the OS picks it; the child binds it right after).
pub fn free_loopback_port() -> Result<u16> {
    Ok(TcpListener::bind(("127.0.0.1", 0))?.local_addr()?.port())
}

/// SIGTERM to the child's process group (spawned with `process_group(0)`),
/// then SIGKILL to whatever outlived `grace` (or its parent), and the
/// child reaped.
pub fn stop_group(child: &mut Child, grace: Duration) {
    let group = -(child.id() as libc::pid_t);
    // SAFETY: kill(2) only sends a signal, to the process group made for this child.
    unsafe { libc::kill(group, libc::SIGTERM) };
    let deadline = Instant::now() + grace;
    while matches!(child.try_wait(), Ok(None)) && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(50));
    }
    // SAFETY: as above.
    unsafe { libc::kill(group, libc::SIGKILL) };
    let _ = child.wait();
}
