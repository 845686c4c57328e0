import Testing
@testable import MirrorCore

@Suite("stepwise fetch: step order, step sizes, what counts as a cut")
struct FetchStepsTests {
    @Test("tags in version order first, then the default branch, other branches, then everything else")
    func order() {
        let refs = ["refs/pull/2/head", "refs/heads/dev", "refs/tags/v1.10", "refs/heads/main", "refs/tags/v1.9",
                    "refs/tags/v1.2.3", "refs/pull/10/head", "refs/tags/v2.0"]
        #expect(FetchSteps.order(refs, defaultBranch: "refs/heads/main") == [
            "refs/tags/v1.2.3", "refs/tags/v1.9", "refs/tags/v1.10", "refs/tags/v2.0",
            "refs/heads/main", "refs/heads/dev", "refs/pull/2/head", "refs/pull/10/head",
        ])
    }

    @Test("natural order: digits compare as numbers, leading zeros and all")
    func versionOrder() {
        #expect(FetchSteps.versionLess("v2", "v10"))
        #expect(!FetchSteps.versionLess("v10", "v2"))
        #expect(FetchSteps.versionLess("v1.0", "v1.0.1"))
        #expect(FetchSteps.versionLess("v007", "v8"))
        #expect(FetchSteps.versionLess("v07", "v007") != FetchSteps.versionLess("v007", "v07"))
        #expect(!FetchSteps.versionLess("a", "a"))
    }

    @Test("hidden step refs carry their step number")
    func hiddenRefs() {
        let oid = String(repeating: "ab", count: 20)
        let name = FetchSteps.hiddenRef(step: 14, oid: oid)
        #expect(name == "refs/mirrordeck/steps/000014/" + oid)
        #expect(FetchSteps.step(ofHiddenRef: name) == 14)
        #expect(FetchSteps.step(ofHiddenRef: "refs/heads/main") == 0)
    }

    @Test("link failures are cuts; refusals and certificate problems are not")
    func cuts() {
        for message in ["early EOF", "stalled: no data from 127.0.0.1 for 3 s", "error receiving data from x: Connection reset by peer",
                        "index-pack failed: fatal: early EOF", "SSL error: unexpected eof while reading"] {
            #expect(FetchSteps.isTransferFailure(message), "\(message)")
        }
        for message in ["unexpected http status code: 404", "authentication required", "the SSL certificate is invalid",
                        "failed to resolve address for x: Name or service not known"] {
            #expect(!FetchSteps.isTransferFailure(message), "\(message)")
        }
    }

    @Test("steps grow while the link holds, shrink on a cut, and stay under 3/4 of the shortest cut after")
    func sizer() {
        var s = StepSizer()
        #expect(s.next(remaining: 100) == 1, "the first step is one ref: nothing is known yet")
        s.completed(refs: 1, bytes: 100_000)
        #expect(s.next(remaining: 100) == 4, "at most four times the refs of the step before")
        s.completed(refs: 4, bytes: 400_000)
        #expect(s.next(remaining: 10_000) == 16)
        s.cut(refs: 16, after: 1_000_000)
        #expect(s.cutFloor == 1_000_000)
        #expect(s.byteTarget == 500_000)
        #expect(s.next(remaining: 1000) <= 8)
        for _ in 0..<20 { s.completed(refs: 1, bytes: 100_000) }
        #expect(s.byteTarget <= 750_000, "never above 3/4 of the shortest cut once the link has cut")
    }

    @Test("after a fetch died, a step stays under 1/64 of the whole fetch (at least 512 KiB), so a kill loses little; cuts alone do not shrink steps so")
    func shareOfWhole() {
        var s = StepSizer()
        s.killSafe = true
        s.completed(refs: 1, bytes: 500_000)
        // 80 refs of 500 KB: 40 MB in all, 1/64 is 625 KB: one ref a step.
        #expect(s.next(remaining: 80) == 1)
        var big = StepSizer()
        big.killSafe = true
        big.completed(refs: 1, bytes: 10_000)
        // 10,000 small refs (100 MB in all): 1/64 is 1.5 MB, 150 refs; at most 4 × the last step's.
        #expect(big.next(remaining: 10_000) == 4)
        // The same link without a died fetch: the byte target (32 MiB after one step) and 4 × the last step.
        var cutOnly = StepSizer()
        cutOnly.completed(refs: 1, bytes: 500_000)
        #expect(cutOnly.next(remaining: 80) == 4)
    }

    @Test("a host known to cut starts with steps half its cut length")
    func forLink() {
        let s = StepSizer.forLink(cutBytes: 8 << 20)
        #expect(s.byteTarget == 4 << 20 && s.cutFloor == 8 << 20)
        #expect(StepSizer.forLink(cutBytes: nil) == StepSizer())
        #expect(StepSizer.forLink(cutBytes: 1000).byteTarget == StepSizer.smallestTarget)
    }
}
