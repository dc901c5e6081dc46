//! The `Runtime` contract (`claude_kit_rt::testkit`) on `ThreadPoolRuntime`, and the harness
//! itself: `on_all_runtimes!` on its four runtimes, and `cancel_after`.

use std::task::Poll;
use std::time::Duration;

use claude_kit_testkit::{Rt, ThreadPoolRuntime, cancel_after, on_all_runtimes};

mod thread_pool_runtime {
    use super::*;

    claude_kit_rt::conformance_tests! {
        runtime = ThreadPoolRuntime::new,
        block_on = futures::executor::block_on,
    }
}

/// Each runner hands over the runtime it names and polls the body on it.
async fn runs_on_its_runtime(rt: Rt) {
    let expected = std::thread::current()
        .name()
        .and_then(|name| name.rsplit("::").next())
        .map(|runner| match runner {
            "thread_pool" => "futures-thread-pool",
            "async_std" => "async-std",
            other => other,
        })
        .map(str::to_owned);
    assert_eq!(expected.as_deref(), Some(rt.name()));
    assert_eq!(claude_kit_rt::spawn(&*rt, async { 6 * 7 }).await, 42);
}

/// A future that never finishes is dropped after its polls; one that finishes in time is not.
async fn cancel_after_gives_up(rt: Rt) {
    let mut polls = 0;
    let restless = std::future::poll_fn(|cx| {
        polls += 1;
        cx.waker().wake_by_ref();
        Poll::<()>::Pending
    });
    assert_eq!(cancel_after(3, restless).await, None);
    assert_eq!(polls, 3);
    let sleep = claude_kit_rt::sleep(&*rt, Duration::from_millis(1));
    assert_eq!(cancel_after(usize::MAX, sleep).await, Some(()));
}

on_all_runtimes!(runs_on_its_runtime, cancel_after_gives_up);
