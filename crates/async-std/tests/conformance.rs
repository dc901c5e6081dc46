//! The `Runtime` contract (`claude_kit_rt::testkit`) on async-std; then what only async-std has.

use claude_kit_async_std::AsyncStdRuntime;
use claude_kit_rt::Runtime;

claude_kit_rt::conformance_tests! {
    runtime = AsyncStdRuntime::new,
    block_on = claude_kit_async_std::block_on,
}

#[test]
fn name_and_current() {
    assert_eq!(AsyncStdRuntime::new().name(), "async-std");
    assert!(AsyncStdRuntime::try_current().is_none());
    assert!(async_std::task::block_on(async { AsyncStdRuntime::try_current() }).is_some());
}
