//! Whether an instance's master daemon is running, answered natively from
//! `$queue_directory/pid/master.pid` as `postfix status` does.

use std::path::Path;

/// The pid of the running master daemon of the instance whose queue
/// directory is `queue_directory`, or `None` when it is not running (no pid
/// file, an unreadable one, or no live process with that pid).
pub fn master_pid(queue_directory: &Path) -> Option<i32> {
    todo!()
}
