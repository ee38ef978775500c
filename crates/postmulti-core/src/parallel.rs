//! Work shared among a few threads: independent per-instance steps (reading
//! a thousand main.cf files, writing a thousand systemd units) that would
//! otherwise leave all but one CPU idle.

/// The most threads [`map_in_order`] uses.
const MAX_THREADS: usize = 8;

/// Maps `step` over `items` and returns the results in the items' order.
/// The items are split into contiguous shares, one per CPU (at most
/// [`MAX_THREADS`]), but a thread is only started when each share gets at
/// least `min_per_thread` items: starting one costs about as much as a few
/// dozen small file-system operations. The CPUs (affinity and cgroup quota
/// files) are only asked about when there are enough items for a second
/// thread. A panic in a step is resumed in the caller.
pub fn map_in_order<T, R, F>(items: &[T], min_per_thread: usize, step: F) -> Vec<R>
where
    T: Sync,
    R: Send,
    F: Fn(&T) -> R + Sync,
{
    let threads = threads_for(items.len(), min_per_thread);
    if threads <= 1 {
        return items.iter().map(step).collect();
    }
    let share = items.len().div_ceil(threads);
    let step = &step;
    std::thread::scope(|scope| {
        let workers: Vec<_> = items
            .chunks(share)
            .map(|part| scope.spawn(move || part.iter().map(step).collect::<Vec<_>>()))
            .collect();
        workers
            .into_iter()
            .flat_map(|worker| match worker.join() {
                Ok(results) => results,
                Err(panic) => std::panic::resume_unwind(panic),
            })
            .collect()
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
    fn few_items_stay_on_the_calling_thread() {
        let me = std::thread::current().id();
        let ran_here = map_in_order(&[1, 2, 3], 64, |_| std::thread::current().id() == me);
        assert!(ran_here.iter().all(|&here| here));
    }
}
