//! Work shared among a few threads: independent per-instance steps (reading
//! a thousand main.cf files, writing a thousand systemd units) that would
//! otherwise leave all but one CPU idle.

/// The most threads [`for_each_in_order`] uses, the calling one included.
/// Each thread costs about 300 KB of memory (its stack and malloc arena,
/// measured on a listing of 1000 instances), and the steps shared are
/// mostly file-system calls, so a few threads take most of the time
/// there is to gain while a listing's peak memory stays within about 1 MB
/// of a single thread's on a machine of any size.
const MAX_THREADS: usize = 4;

/// Maps `step` over `items` and returns the results in the items' order
/// (see [`for_each_in_order`]).
pub fn map_in_order<T, R, F>(items: &[T], min_per_thread: usize, step: F) -> Vec<R>
where
    T: Sync,
    R: Send,
    F: Fn(&T) -> R + Sync,
{
    let mut results = Vec::with_capacity(items.len());
    for_each_in_order(items, min_per_thread, step, |result| results.push(result));
    results
}

/// Runs `step` on each of `items` and hands the results to `consume` in
/// the items' order, so that a caller that keeps only part of each result
/// never holds them all. The items are split into contiguous shares, one
/// per CPU (at most [`MAX_THREADS`]), but a share is only made when each
/// gets at least `min_per_thread` items: starting a thread costs about as
/// much as a few dozen small file-system operations. The calling thread
/// works through the first share itself, consuming each result as it comes,
/// so one thread fewer is started than there are shares; the other shares'
/// results wait in their thread until their turn. The CPUs (affinity and
/// cgroup quota files) are only asked about when there are enough items
/// for a second share. A panic in a step is resumed in the caller.
pub fn for_each_in_order<T, R, F, C>(items: &[T], min_per_thread: usize, step: F, mut consume: C)
where
    T: Sync,
    R: Send,
    F: Fn(&T) -> R + Sync,
    C: FnMut(R),
{
    let threads = threads_for(items.len(), min_per_thread);
    if threads <= 1 {
        items.iter().map(step).for_each(consume);
        return;
    }
    let share = items.len().div_ceil(threads);
    let step = &step;
    std::thread::scope(|scope| {
        let mut shares = items.chunks(share);
        let first = shares.next().unwrap_or_default();
        let workers: Vec<_> = shares
            .map(|part| scope.spawn(move || part.iter().map(step).collect::<Vec<_>>()))
            .collect();
        first.iter().map(step).for_each(&mut consume);
        for worker in workers {
            match worker.join() {
                Ok(part) => part.into_iter().for_each(&mut consume),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
    })
}

/// How many threads share `count` items of which each thread should get at
/// least `min_per_thread`.
fn threads_for(count: usize, min_per_thread: usize) -> usize {
    let useful = (count / min_per_thread.max(1)).min(MAX_THREADS);
    if useful <= 1 {
        return 1;
    }
    std::thread::available_parallelism().map_or(1, |cpus| cpus.get().min(useful))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_keep_the_items_order_across_threads() {
        let items: Vec<usize> = (0..1000).collect();
        let doubled = map_in_order(&items, 10, |i| i * 2);
        assert_eq!(doubled, items.iter().map(|i| i * 2).collect::<Vec<_>>());
    }

    #[test]
    fn the_calling_thread_takes_the_first_share() {
        let me = std::thread::current().id();
        let items: Vec<usize> = (0..1000).collect();
        let here = map_in_order(&items, 10, |_| std::thread::current().id() == me);
        assert!(here[0], "the first item runs on the calling thread");
        if threads_for(items.len(), 10) > 1 {
            assert!(!here[999], "the last share runs on a thread of its own");
        }
    }

    #[test]
    fn results_are_consumed_in_order() {
        let items: Vec<usize> = (0..1000).collect();
        let mut seen = Vec::new();
        for_each_in_order(&items, 10, |i| i * 3, |result| seen.push(result));
        assert_eq!(seen, items.iter().map(|i| i * 3).collect::<Vec<_>>());
    }

    #[test]
    fn a_panic_in_a_step_is_resumed_in_the_caller() {
        let items: Vec<usize> = (0..1000).collect();
        let caught = std::panic::catch_unwind(|| {
            map_in_order(&items, 10, |&i| assert!(i != 999, "step 999"))
        });
        assert!(caught.is_err());
    }

    #[test]
    fn few_items_stay_on_the_calling_thread() {
        let me = std::thread::current().id();
        let ran_here = map_in_order(&[1, 2, 3], 64, |_| std::thread::current().id() == me);
        assert!(ran_here.iter().all(|&here| here));
    }
}
