import Crypto
import Foundation

/// One object for a worker, and where its bytes come from.
struct LFSWorkItem: Sendable {
    enum Source: Sendable {
        /// Download from an LFS server's action.
        case http(LFSAction)
        /// Copy (hashing) from a local file: a `file://` endpoint's object, or another mirror's copy on
        /// another filesystem.
        case file(path: String)
    }

    var pointer: LFSPointer
    var source: Source
}

/// How one object ended.
struct LFSWorkResult: Sendable {
    var pointer: LFSPointer
    var outcome: Result<LFSObjectSource, LFSObjectError>
    /// Bytes of an earlier partial download this run kept.
    var resumedBytes: Int64 = 0
}

/// Transfers objects one after another on its own thread, with one curl handle whose connections are
/// reused from object to object. Streams into `lfs-incomplete/<oid>.part` while hashing, resumes with
/// `Range`, verifies size and SHA-256, then renames into the mirror.
final class LFSTransferWorker {
    let home: Home
    let mirror: Mirror
    let options: LFSOptions
    let tracker: LFSProgressTracker
    let isCancelled: () -> Bool
    /// Asks the batch API again for one object (an action expired or was refused), on this worker's handle.
    let refresh: (LFSPointer, CurlHandle) -> LFSBatchAnswer?
    /// Other mirrors that point at an object (after waiting for another worker, its verified copy may be there).
    let holders: (LFSOID) -> [String]
    let curl = CurlHandle()
    /// The bandwidth caps this mirror's downloads take from.
    let buckets: [TokenBucket]
    /// Where a download's bytes gather before each write (one per worker, reused).
    private let writeBuffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 64)

    init(home: Home, mirror: Mirror, options: LFSOptions, tracker: LFSProgressTracker, isCancelled: @escaping () -> Bool,
         refresh: @escaping (LFSPointer, CurlHandle) -> LFSBatchAnswer?, holders: @escaping (LFSOID) -> [String]) {
        self.home = home
        self.mirror = mirror
        self.options = options
        self.tracker = tracker
        self.isCancelled = isCancelled
        self.refresh = refresh
        self.holders = holders
        buckets = TransferBudget.shared.buckets(for: mirror)
    }

    deinit { writeBuffer.deallocate() }

    private var finalPath: (LFSOID) -> String { { [home, mirror] in home.lfsObjectPath(mirror.name, $0) } }

    func run(_ item: LFSWorkItem) -> LFSWorkResult {
        let pointer = item.pointer
        var result = LFSWorkResult(pointer: pointer, outcome: .failure(.cancelled))
        do {
            try FileManager.default.createDirectory(atPath: home.lfsIncompleteDirectory, withIntermediateDirectories: true)
            guard let lock = try LFSObjectLock.acquire(path: home.lfsObjectLockPath(pointer.oid), isCancelled: isCancelled) else {
                tracker.finished(pointer.oid, size: pointer.size, ok: false)
                return result
            }
            defer { lock.release() }
            // While we waited, another worker (maybe in another process: the server's pull-through) may
            // have placed it here, verified, or brought it into another mirror.
            if lock.waited, LFSStore.regularFileSize(finalPath(pointer.oid)) == pointer.size {
                result.outcome = .success(.found)
            } else if lock.waited, let linked = try linkFromHolder(pointer) {
                result.outcome = .success(linked)
            } else {
                switch item.source {
                case let .http(action): result = download(pointer, action: action)
                case let .file(path): result.outcome = copy(pointer, from: path)
                }
            }
        } catch let error as LFSObjectError {
            result.outcome = .failure(error)
        } catch {
            result.outcome = .failure(.local("\(error)"))
        }
        if case .success = result.outcome {
            tracker.finished(pointer.oid, size: pointer.size, ok: true)
        } else {
            tracker.finished(pointer.oid, size: pointer.size, ok: false)
        }
        return result
    }

    private func linkFromHolder(_ pointer: LFSPointer) throws -> LFSObjectSource? {
        for name in holders(pointer.oid) where MirrorName.isValid(name) {
            let source = home.lfsObjectPath(name, pointer.oid)
            guard LFSStore.regularFileSize(source) == pointer.size else { continue }
            if try LFSStore.link(from: source, to: finalPath(pointer.oid)) { return .linked }
        }
        return nil
    }

    // MARK: - Copy from a local file

    private func copy(_ pointer: LFSPointer, from source: String) -> Result<LFSObjectSource, LFSObjectError> {
        let src = open(source, O_RDONLY | O_CLOEXEC)
        guard src >= 0 else {
            if errno == ENOENT { return .failure(.unavailable(code: 404, message: "not in the local store \((source as NSString).deletingLastPathComponent)")) }
            return .failure(.local("cannot read \(source): \(String(cString: strerror(errno)))"))
        }
        defer { close(src) }
        var st = stat()
        guard fstat(src, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else {
            return .failure(.badAnswer("the local store's \(source) is not a regular file"))
        }
        guard Int64(st.st_size) == pointer.size else {
            return .failure(.badAnswer("the local store's copy has \(st.st_size) bytes, the pointer says \(pointer.size)"))
        }
        let partPath = home.lfsPartPath(pointer.oid)
        let part = open(partPath, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard part >= 0 else { return .failure(.local("cannot write \(partPath): \(String(cString: strerror(errno)))")) }
        defer { close(part) }
        var hasher = SHA256()
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: LFSStore.chunkSize, alignment: 16)
        defer { buffer.deallocate() }
        var done: Int64 = 0
        while done < pointer.size {
            if isCancelled() { return .failure(.cancelled) }
            let n = read(src, buffer.baseAddress, min(LFSStore.chunkSize, Int(pointer.size - done)))
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return .failure(.badAnswer("the local store's copy ended early, at \(done) of \(pointer.size) bytes")) }
            let chunk = UnsafeRawBufferPointer(rebasing: buffer[0..<n])
            if let err = LFSStore.writeAll(part, chunk) {
                return .failure(.local("cannot write \(partPath): \(String(cString: strerror(err)))"))
            }
            hasher.update(bufferPointer: chunk)
            done += Int64(n)
            tracker.received(pointer.oid, total: done, network: 0)
        }
        let digest = LFSStore.hex(hasher.finalize())
        guard digest == pointer.oid.hex else {
            unlink(partPath)
            return .failure(.hashMismatch(got: digest))
        }
        do {
            try LFSStore.place(part: partPath, at: finalPath(pointer.oid))
        } catch let error as LFSObjectError {
            return .failure(error)
        } catch {
            return .failure(.local("\(error)"))
        }
        return .success(.copied)
    }

    // MARK: - Download

    private enum Attempt {
        case done
        case retry(String, retryAfter: String?, refresh: Bool)
        case fail(LFSObjectError)
    }

    private func download(_ pointer: LFSPointer, action initial: LFSAction) -> LFSWorkResult {
        var result = LFSWorkResult(pointer: pointer, outcome: .failure(.cancelled))
        var action = initial
        var attempts = 0
        var refreshed = false
        var renewals = 0
        while true {
            if isCancelled() { return result }
            if action.isExpired() {
                renewals += 1
                guard renewals <= 2, let fresh = freshAction(pointer) else {
                    return result.with(.failure(.badAnswer("the download link expired and the LFS server gave no fresh one")))
                }
                switch fresh {
                case let .download(a): action = a
                case let .error(e): return result.with(.failure(e))
                }
            }
            attempts += 1
            let where_ = LFSEndpoint.display(action.href)
            let before = LFSStore.regularFileSize(home.lfsPartPath(pointer.oid)) ?? 0
            let outcome = attempt(pointer, action, resumed: &result.resumedBytes)
            switch outcome {
            case .done:
                do {
                    try LFSStore.place(part: home.lfsPartPath(pointer.oid), at: finalPath(pointer.oid))
                    return result.with(.success(.downloaded))
                } catch let error as LFSObjectError {
                    return result.with(.failure(error))
                } catch {
                    return result.with(.failure(.local("\(error)")))
                }
            case let .fail(error):
                return result.with(.failure(Self.locate(error, at: where_)))
            case let .retry(reason, retryAfter, wantsRefresh):
                if wantsRefresh {
                    guard !refreshed, let fresh = freshAction(pointer) else {
                        return result.with(.failure(.transfer("download from \(where_): \(reason) (the link was refused even when fresh: credentials or an expired link)")))
                    }
                    refreshed = true
                    switch fresh {
                    case let .download(a): action = a
                    case let .error(e): return result.with(.failure(e))
                    }
                    continue
                }
                // A connection that was cut (or aborted as too slow) after bringing a useful piece forward is the
                // far link, not a failing server: resume at once, and it does not use up an attempt. On a link
                // that cuts every few megabytes a large object then completes in one run, while a server that
                // fails without progress still gets `retries` attempts with backoff.
                let after = LFSStore.regularFileSize(home.lfsPartPath(pointer.oid)) ?? 0
                if after - before >= options.progressResetBytes {
                    attempts = 0
                    continue
                }
                guard attempts <= options.retries else {
                    let kept = (LFSStore.regularFileSize(home.lfsPartPath(pointer.oid)) ?? 0) > 0 ? "; the partial download is kept for the next run" : ""
                    return result.with(.failure(.transfer("download from \(where_): \(reason); gave up after \(attempts) attempts\(kept)")))
                }
                guard let delay = options.delay(attempt: attempts, retryAfter: retryAfter) else {
                    return result.with(.failure(.transfer("download from \(where_): \(reason) and asked to wait longer than \(Int(options.retryAfterMax)) s")))
                }
                guard cancellableSleep(delay, isCancelled: isCancelled) else { return result }
            }
        }
    }

    private func freshAction(_ pointer: LFSPointer) -> LFSBatchAnswer? {
        refresh(pointer, curl)
    }

    private static func locate(_ error: LFSObjectError, at href: String) -> LFSObjectError {
        switch error {
        case let .transfer(message): return .transfer("download from \(href): \(message)")
        case let .unavailable(code, message): return .unavailable(code: code, message: "\(message) at \(href)")
        default: return error
        }
    }

    private enum Abort {
        case tooLong
        case badRange(String)
        case local(String)
    }

    /// One GET: resumes from the `.part` when it holds a prefix, streams the rest in while hashing.
    private func attempt(_ pointer: LFSPointer, _ action: LFSAction, resumed: inout Int64) -> Attempt {
        let oid = pointer.oid
        let size = pointer.size
        let partPath = home.lfsPartPath(oid)
        let fd = open(partPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { return .fail(.local("cannot open \(partPath): \(String(cString: strerror(errno)))")) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { return .fail(.local("cannot stat \(partPath)")) }
        var offset = Int64(st.st_size)
        var hasher = SHA256()
        if offset > size || (offset > 0 && !LFSStore.hashPrefix(fd: fd, count: offset, into: &hasher)) {
            _ = ftruncate(fd, 0)
            offset = 0
            hasher = SHA256()
        }
        if offset == size && size > 0 {
            if LFSStore.hex(hasher.finalize()) == oid.hex {
                resumed += offset
                tracker.received(oid, total: offset, network: 0)
                return .done
            }
            _ = ftruncate(fd, 0)
            offset = 0
            hasher = SHA256()
        }
        tracker.received(oid, total: offset, network: 0)

        var request = CurlHandle.Request(url: action.href)
        request.headers = action.headers
        request.rangeStart = offset > 0 ? offset : nil
        request.insecureTLS = mirror.insecureTLS
        request.netrc = !action.headers.contains { $0.0.lowercased() == "authorization" }
        request.connectTimeout = options.connectTimeout
        request.stallTimeout = options.stallTimeout
        request.minRate = options.minRate
        request.maxRedirects = options.maxRedirects

        var decided = false
        var writing = false
        var written: Int64 = 0      // bytes accepted after `offset` (flushed or buffered)
        var flushed: Int64 = 0      // of those, written to the .part and hashed
        var pending = 0             // bytes in `buffer`
        var abort: Abort?
        var errorBody = [UInt8]()
        let buffer = writeBuffer
        // Servers may send a body in tiny pieces (giftless: one chunk per "line" of binary data, ~256 bytes),
        // so bytes are gathered and written, hashed and counted a megabyte at a time.
        func flush() -> Bool {
            guard pending > 0 else { return true }
            let block = UnsafeRawBufferPointer(rebasing: buffer[0..<pending])
            if let err = Self.pwriteAll(fd, block, at: offset + flushed) {
                abort = .local(err == ENOSPC ? "the home's filesystem is full (no space left on device): free space and fetch again (the partial download is kept)"
                               : err == EROFS ? "the home's filesystem is read-only: remount it read-write and fetch again (the partial download is kept)"
                                             : "cannot write \(partPath): \(String(cString: strerror(err)))")
                return false
            }
            hasher.update(bufferPointer: block)
            flushed += Int64(pending)
            tracker.received(oid, total: offset + flushed, network: Int64(pending))
            pending = 0
            return true
        }
        let callbacks = CurlHandle.Callbacks(isCancelled: isCancelled) { [tracker, buckets, isCancelled] cb, chunk in
            if !decided {
                decided = true
                let length = cb.headers["content-length"].flatMap { Int64($0) }
                switch cb.status {
                case 206 where offset > 0:
                    guard Self.contentRangeMatches(cb.headers["content-range"], start: offset, size: size) else {
                        abort = .badRange("the server answered the range request with Content-Range \(Redactor.quote(cb.headers["content-range"] ?? "none")), not bytes \(offset)-\(size - 1)/\(size)")
                        return false
                    }
                    if let length, length > size - offset { abort = .tooLong; return false }
                    writing = true
                case 200:
                    if offset > 0 {
                        // The server ignored Range: start over from byte zero with this body.
                        _ = ftruncate(fd, 0)
                        offset = 0
                        hasher = SHA256()
                        tracker.reset(oid)
                    }
                    if let length, length > size { abort = .tooLong; return false }
                    writing = true
                case 200...299:
                    abort = .badRange("the server answered \(cb.status) to a download")
                    return false
                default:
                    writing = false
                }
            }
            guard writing else {
                if errorBody.count < 4096 { errorBody.append(contentsOf: chunk.prefix(4096 - errorBody.count)) }
                return true
            }
            let n = Int64(chunk.count)
            guard offset + written + n <= size else { abort = .tooLong; return false }
            var rest = chunk
            while !rest.isEmpty {
                let take = min(rest.count, buffer.count - pending)
                UnsafeMutableRawBufferPointer(rebasing: buffer[pending..<(pending + take)]).copyMemory(from: UnsafeRawBufferPointer(rebasing: rest[0..<take]))
                pending += take
                rest = UnsafeRawBufferPointer(rebasing: rest[take...])
                if pending == buffer.count, !flush() { return false }
            }
            written += n
            // The mirror's, its host's and the global bandwidth caps (curl waits while this sleeps; the
            // low-speed check does not count that wait against the link).
            guard !buckets.isEmpty else { return true }
            let waitStart = DispatchTime.now().uptimeNanoseconds
            defer { cb.throttled += DispatchTime.now().uptimeNanoseconds - waitStart }
            return TransferBudget.take(chunk.count, from: buckets, isCancelled: isCancelled)
        }
        let response = curl.perform(request, callbacks: callbacks)
        if abort == nil, writing { _ = flush() } // what arrived is kept, also when the connection broke
        if offset > 0 && writing { resumed += offset }

        if let abort {
            switch abort {
            case .tooLong:
                unlink(partPath)
                tracker.reset(oid)
                return .fail(.tooLong(size: size))
            case let .badRange(message):
                _ = ftruncate(fd, 0)
                tracker.reset(oid)
                return .retry(message, retryAfter: nil, refresh: false)
            case let .local(message):
                return .fail(.local(message))
            }
        }
        if isCancelled() { return .fail(.cancelled) }
        if !response.ok {
            let reason = CurlErrors.describe(response, stallTimeout: options.stallTimeout, maxRedirects: options.maxRedirects, minRate: options.minRate)
            if CurlErrors.isTransient(response) { return .retry(reason, retryAfter: nil, refresh: false) }
            return .fail(.transfer(reason))
        }
        let serverSays = LFSBatchClient.serverMessage(errorBody, contentType: response.headers["content-type"]).map { " (\($0))" } ?? ""
        if let limit = HostRateLimit.parse(status: response.status, headers: response.headers, host: URLComponents(string: action.href)?.host ?? ""),
           !HostRateLimit.isBrief(limit, headers: response.headers) {
            return .fail(.rateLimited(limit))  // the host's state: the LFS job waits for the reset
        }
        switch response.status {
        case 200, 206:
            let total = offset + flushed
            guard total == size else {
                return .retry("the body ended at \(total) of \(size) bytes", retryAfter: nil, refresh: false)
            }
            let digest = LFSStore.hex(hasher.finalize())
            guard digest == oid.hex else {
                unlink(partPath)
                tracker.reset(oid)
                return .fail(.hashMismatch(got: digest))
            }
            return .done
        case 401, 403:
            return .retry("answered \(response.status)\(serverSays)", retryAfter: nil, refresh: true)
        case 416 where offset > 0:
            // The server will not serve the rest of what we hold: start over from byte zero.
            _ = ftruncate(fd, 0)
            tracker.reset(oid)
            return .retry("the server refused the range request (416)", retryAfter: nil, refresh: false)
        case 404, 410:
            return .fail(.unavailable(code: response.status, message: "the download link answered \(response.status)\(serverSays)"))
        case 408, 429, 500...599:
            return .retry("answered \(response.status)\(serverSays)", retryAfter: response.headers["retry-after"], refresh: false)
        default:
            return .fail(.transfer("answered \(response.status)\(serverSays)"))
        }
    }

    /// `bytes START-END/TOTAL` (TOTAL may be `*`) matching the range we asked for and the pointer's size.
    static func contentRangeMatches(_ header: String?, start: Int64, size: Int64) -> Bool {
        guard let header else { return false }
        let text = header.trimmingCharacters(in: .whitespaces)
        guard text.lowercased().hasPrefix("bytes ") else { return false }
        let spec = text.dropFirst(6)
        let parts = spec.split(separator: "/", maxSplits: 1)
        guard parts.count == 2 else { return false }
        let range = parts[0].split(separator: "-", maxSplits: 1)
        guard range.count == 2, let a = Int64(range[0]), let b = Int64(range[1]) else { return false }
        guard a == start, b == size - 1 else { return false }
        return parts[1] == "*" || Int64(parts[1]) == size
    }

    static func pwriteAll(_ fd: Int32, _ buffer: UnsafeRawBufferPointer, at offset: Int64) -> Int32? {
        var done = 0
        while done < buffer.count {
            let n = pwrite(fd, buffer.baseAddress! + done, buffer.count - done, off_t(offset) + off_t(done))
            if n < 0 {
                if errno == EINTR { continue }
                return errno
            }
            done += n
        }
        return nil
    }
}

extension LFSWorkResult {
    func with(_ outcome: Result<LFSObjectSource, LFSObjectError>) -> LFSWorkResult {
        var copy = self
        copy.outcome = outcome
        return copy
    }
}
