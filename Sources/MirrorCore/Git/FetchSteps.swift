import Foundation

/// Fetching in steps, for upstreams whose link cuts long transfers.
///
/// git cannot resume a pack: a fetch cut at 90 % keeps nothing. A stepwise fetch asks for a few of the
/// upstream's refs at a time (a refspec per ref works with every server; libgit2 1.5 has no shallow
/// fetch), oldest tags first, so each step's pack holds only what the earlier steps did not bring: the
/// steps negotiate from a stage repository whose refs are the steps, newest first (`StepStage`), and the
/// mirror keeps their objects under hidden refs (`refs/mirrordeck/steps/NNNNNN/OID`) that
/// `uploadpack.hideRefs` keeps out of what the mirror serves. The
/// served refs change only once every step is in, in one bulk write; then the hidden refs go. A kill, a
/// failed run or a cut keeps every completed step: the next attempt asks only for what is still missing.
///
/// The size of a step adapts to the link: each step aims under a byte target, starting at 16 MiB and
/// doubling after every step that went through while the link cut nothing. A cut sets the target to half
/// of what the link carried before it and halves the number of refs asked for at once; from then on the
/// target grows by a quarter per completed step, up to three quarters of the shortest cut seen. Refs are
/// grouped by the bytes per ref the last step measured, at most four times as many as the step before, and a
/// step stays under 1/64 of the whole fetch as estimated so far (at least 512 KiB), so that a killed process
/// loses little.
enum FetchSteps {
    /// Where completed steps are kept: outside what the mirror serves and outside `GitRepository.refs()`.
    static let hiddenPrefix = "refs/mirrordeck/"
    static let stepsPrefix = hiddenPrefix + "steps/"

    /// The hidden ref of the mirror keeping the objects of `oid`, fetched in step `step` (negotiation
    /// happens in the stage, `StepStage`, not here).
    static func hiddenRef(step: Int, oid: String) -> String {
        stepsPrefix + String(format: "%06d", step) + "/" + oid
    }

    /// The step number of a hidden ref (0 when it is not a step ref).
    static func step(ofHiddenRef name: String) -> Int {
        guard name.hasPrefix(stepsPrefix), let key = Int(name.dropFirst(stepsPrefix.count).prefix { $0 != "/" }) else { return 0 }
        return key
    }

    /// At most this many served branch tips start a stepwise fetch (step 0), the default branch first.
    static let baseTips = 16

    /// The order refs are fetched in: tags in version order (v1.9 before v1.10), so each brings the
    /// history since the one before; then branches, the default first; then everything else (GitHub's
    /// refs/pull/*, which are small once the branches are in).
    static func order(_ refs: [String], defaultBranch: String?) -> [String] {
        func rank(_ name: String) -> Int {
            if name.hasPrefix("refs/tags/") { return 0 }
            if name == defaultBranch { return 1 }
            if name.hasPrefix("refs/heads/") { return 2 }
            return 3
        }
        return refs.sorted { a, b in
            let (ra, rb) = (rank(a), rank(b))
            if ra != rb { return ra < rb }
            return versionLess(a, b)
        }
    }

    /// Natural order: runs of digits compare as numbers, the rest bytewise.
    static func versionLess(_ a: String, _ b: String) -> Bool {
        let (x, y) = (Array(a.utf8), Array(b.utf8))
        var (i, j) = (0, 0)
        func isDigit(_ c: UInt8) -> Bool { c >= 48 && c <= 57 }
        while i < x.count && j < y.count {
            if isDigit(x[i]) && isDigit(y[j]) {
                var (ei, ej) = (i, j)
                while ei < x.count && isDigit(x[ei]) { ei += 1 }
                while ej < y.count && isDigit(y[ej]) { ej += 1 }
                // Compare the numbers without leading zeros: by length, then digit by digit.
                var (si, sj) = (i, j)
                while si < ei - 1 && x[si] == 48 { si += 1 }
                while sj < ej - 1 && y[sj] == 48 { sj += 1 }
                if ei - si != ej - sj { return ei - si < ej - sj }
                for k in 0..<(ei - si) where x[si + k] != y[sj + k] { return x[si + k] < y[sj + k] }
                if ei - i != ej - j { return ei - i < ej - j }
                (i, j) = (ei, ej)
            } else {
                if x[i] != y[j] { return x[i] < y[j] }
                i += 1
                j += 1
            }
        }
        return x.count - i < y.count - j
    }

    /// Whether a failed download was the link failing (a cut, a reset, a stall, a truncated pack) rather
    /// than the upstream refusing: only such failures are retried as steps.
    static func isTransferFailure(_ message: String) -> Bool {
        let lower = message.lowercased()
        guard !lower.contains("certificate") else { return false }
        return [
            "early eof", "unexpected eof", "end of file", "connection reset", "broken pipe", "stalled:",
            "error receiving data", "error sending data", "failed to receive", "short read", "truncated",
            "unexpected disconnect", "remote end hung up", "ssl error", "ssl_read", "connection was reset",
            "pack is too short", "unresolved deltas", "index-pack failed", "the connection was closed",
            "stream ended at an unexpected time",
        ].contains { lower.contains($0) }
    }
}

/// How big the next step is: refs per step, adapted to what the link carried (see `FetchSteps`).
struct StepSizer: Equatable {
    /// Bytes a step aims under.
    private(set) var byteTarget: Int64
    /// Refs the last step asked for.
    private(set) var batch = 1
    /// Bytes per ref the last completed step measured (nil before the first).
    private(set) var bytesPerRef: Double?
    /// The fewest bytes the link carried before a cut (nil while it has cut nothing).
    private(set) var cutFloor: Int64?
    /// Bytes the completed steps brought.
    private(set) var carried: Int64 = 0

    static let initialTarget: Int64 = 16 << 20
    static let smallestTarget: Int64 = 256 << 10
    static let largestTarget: Int64 = 256 << 20
    /// After a fetch died (the process was killed, or the run failed mid-fetch), a step is at most this
    /// share of the whole fetch (as estimated so far), so that another kill, which loses the step under way,
    /// loses little: 20 kills cost about a sixth of the transfer.
    static let shareOfWhole: Double = 1.0 / 64
    /// Whether steps keep under `shareOfWhole`. Not for a run that only met cuts: every step costs a new
    /// connection, a ref listing and a negotiation (about four round trips, 0.5 s at 150 ms), and steps of
    /// 1/64 made a 100 MB fetch over a link cutting every 8-24 MB take 43 steps where 22 do.
    var killSafe = false

    init(byteTarget: Int64 = StepSizer.initialTarget) {
        self.byteTarget = Self.clamp(byteTarget)
    }

    private static func clamp(_ bytes: Int64) -> Int64 { min(largestTarget, max(smallestTarget, bytes)) }

    /// Refs to ask for next, of `remaining`.
    func next(remaining: Int) -> Int {
        guard remaining > 0 else { return 0 }
        guard let perRef = bytesPerRef else { return 1 }
        let whole = Double(carried) + perRef * Double(remaining)
        let target = killSafe ? min(Double(byteTarget), max(Double(Self.smallestTarget) * 2, whole * Self.shareOfWhole)) : Double(byteTarget)
        let fits = perRef <= 0 ? Double(remaining) : target / perRef
        return max(1, min(remaining, batch * 4, Int(min(fits, Double(Int32.max)))))
    }

    /// A step of `refs` refs brought `bytes`. A link that never cut gets twice the target; one that did,
    /// a quarter more, up to three quarters of its shortest cut (a step near the cut length fails often).
    mutating func completed(refs: Int, bytes: Int64) {
        batch = max(1, refs)
        carried += max(0, bytes)
        bytesPerRef = Double(max(0, bytes)) / Double(batch)
        if let floor = cutFloor {
            byteTarget = Self.clamp(min(byteTarget + byteTarget / 4, floor * 3 / 4))
        } else {
            byteTarget = Self.clamp(byteTarget * 2)
        }
    }

    /// A step of `refs` refs was cut after the link carried `bytes`: half the refs, and at most half the
    /// bytes, next time.
    mutating func cut(refs: Int, after bytes: Int64) {
        cutFloor = min(cutFloor ?? bytes, bytes)
        batch = max(1, refs / 2)
        byteTarget = Self.clamp(min(byteTarget, bytes / 2))
        // Until a step completes again, size steps as if each ref were as big as the cut one's share.
        if let perRef = bytesPerRef { bytesPerRef = max(perRef, Double(bytes) / Double(max(1, refs))) }
    }

    /// The sizer for a host whose link cut transfers after `cutBytes` lately (nil: none).
    static func forLink(cutBytes: Int64?) -> StepSizer {
        guard let cutBytes else { return StepSizer() }
        var sizer = StepSizer(byteTarget: cutBytes / 2)
        sizer.cutFloor = cutBytes
        return sizer
    }
}
