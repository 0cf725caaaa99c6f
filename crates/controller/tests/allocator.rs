//! The controller's allocator (mimalloc, linked as `kks-lb-controller` links it) never advises
//! its memory for transparent huge pages: with that advice every 2 MiB page it touched counted
//! whole in the controller's RSS (docs/benchmarks.md, "Memory").

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The mappings of this process whose `VmFlags` include `hg` (advised `MADV_HUGEPAGE`), with
/// the address range of each.
fn huge_page_advised_mappings() -> Vec<String> {
    let smaps = std::fs::read_to_string("/proc/self/smaps").unwrap();
    let mut advised = Vec::new();
    let mut mapping = "";
    for line in smaps.lines() {
        if let Some(flags) = line.strip_prefix("VmFlags:") {
            if flags.split_whitespace().any(|f| f == "hg") {
                advised.push(mapping.to_owned());
            }
        } else if line
            .split_whitespace()
            .next()
            .is_some_and(|range| range.contains('-') && !range.ends_with(':'))
        {
            mapping = line;
        }
    }
    advised
}

#[test]
fn the_allocator_advises_no_memory_for_transparent_huge_pages() {
    // Small and large blocks on this thread and on others, so the allocator reserves and
    // commits arena memory as a busy controller does.
    let mut held: Vec<Vec<u8>> = (0..4_000).map(|i| vec![1; 16 + (i % 97) * 64]).collect();
    held.push(vec![2; 8 << 20]);
    let others: Vec<Vec<u8>> = std::thread::scope(|s| {
        (0..4)
            .map(|t| s.spawn(move || vec![3; (t + 1) << 20]))
            .collect::<Vec<_>>()
            .into_iter()
            .map(|h| h.join().unwrap())
            .collect()
    });
    let total: usize = held.iter().chain(&others).map(Vec::len).sum();
    assert!(total > 18 << 20, "the blocks were allocated: {total} bytes");
    let advised = huge_page_advised_mappings();
    assert!(
        advised.is_empty(),
        "mappings advised MADV_HUGEPAGE (mimalloc built without its `no_thp` feature?): {advised:#?}"
    );
}
