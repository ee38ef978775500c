//! `swapper`: the attacker of the trust tests (issue 24), an unprivileged
//! user who can write one directory and swaps what lies in it while root
//! runs postmulti.
//!
//! Usage: `swapper UID DIR A B [WATCHED]`. It drops to user and group
//! `UID` (no supplementary groups), then exchanges the entries `DIR/A`
//! and `DIR/B` atomically (`renameat2(RENAME_EXCHANGE)`): without
//! `WATCHED`, in a tight loop; with it, each time the file `WATCHED` has
//! been read and closed (inotify), swapping back 20 ms later. It stops
//! after 60 s, or when killed.

use nix::fcntl::{renameat2, RenameFlags};
use nix::sys::inotify::{AddWatchFlags, InitFlags, Inotify};
use nix::unistd::{setgid, setgroups, setuid, Gid, Uid};
use std::time::{Duration, Instant};

/// How long a swap made on a read lasts.
const SWAPPED_FOR: Duration = Duration::from_millis(20);

/// How long the swapper runs at most.
const LIFETIME: Duration = Duration::from_secs(60);

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [uid, dir, a, b, rest @ ..] = args.as_slice() else {
        eprintln!("usage: swapper UID DIR A B [WATCHED]");
        std::process::exit(2);
    };
    let id: u32 = uid.parse().expect("a numeric uid");
    setgroups(&[]).expect("setgroups");
    setgid(Gid::from_raw(id)).expect("setgid");
    setuid(Uid::from_raw(id)).expect("setuid");
    let watch = rest.first().map(|watched| {
        let inotify = Inotify::init(InitFlags::empty()).expect("inotify");
        inotify
            .add_watch(watched.as_str(), AddWatchFlags::IN_CLOSE_NOWRITE)
            .expect("watch");
        inotify
    });
    let dir = std::fs::File::open(dir).expect("the attacker's directory");
    let exchange = || {
        renameat2(
            &dir,
            a.as_str(),
            &dir,
            b.as_str(),
            RenameFlags::RENAME_EXCHANGE,
        )
        .expect("renameat2")
    };
    let start = Instant::now();
    while start.elapsed() < LIFETIME {
        match &watch {
            None => exchange(),
            Some(inotify) => {
                inotify.read_events().expect("inotify events");
                exchange();
                std::thread::sleep(SWAPPED_FOR);
                exchange();
            }
        }
    }
}
