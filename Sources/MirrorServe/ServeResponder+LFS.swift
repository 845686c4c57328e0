import Foundation
import Hummingbird
import MirrorCore
import NIOCore

/// The Git LFS batch API (download only) and object downloads with `Range` and pull-through.
extension ServeResponder {
    static let maxBatchBody = 1 << 20
    static let maxBatchObjects = 1000
    /// How long a download href is good for (the hrefs carry no secret; this tells clients when to ask again).
    static let hrefLifetime = 3600

    func lfsBatch(_ request: Request, _ x: Exchange, mirror: Mirror) async throws -> Response {
        guard request.method == .post else { throw Failure(.methodNotAllowed, "the batch API takes POST", lfs: true) }
        if let type = request.headers[.contentType]?.lowercased() {
            let media = type.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
            guard media == "application/vnd.git-lfs+json" || media == "application/json" else {
                throw Failure(.unsupportedMediaType, "expected Content-Type application/vnd.git-lfs+json", lfs: true)
            }
        }
        var buffer = try await Self.collect(request, limit: Self.maxBatchBody)
        let data = Data(buffer.readBytes(length: buffer.readableBytes) ?? [])
        guard let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw Failure(.unprocessableContent, "the request is not a JSON object", lfs: true)
        }
        guard let operation = json["operation"] as? String else { throw Failure(.unprocessableContent, "missing \"operation\"", lfs: true) }
        guard operation == "download" else {
            x.entry.kind = .refused
            throw Failure(.forbidden, "read-only mirror: uploads go to the upstream", lfs: true)
        }
        if let transfers = json["transfers"] as? [String], !transfers.isEmpty, !transfers.contains("basic") {
            throw Failure(.unprocessableContent, "only the basic transfer adapter is offered", lfs: true)
        }
        guard let objects = json["objects"] as? [[String: Any]] else { throw Failure(.unprocessableContent, "missing \"objects\"", lfs: true) }
        guard objects.count <= Self.maxBatchObjects else {
            throw Failure(.contentTooLarge, "\(objects.count) objects in one batch; at most \(Self.maxBatchObjects)", lfs: true)
        }
        let base = (try? server.catalog.setting("serve.url")) ?? nil
        var scanned = ((try? server.catalog.lfsScan(mirrorId: mirror.id!)) ?? nil) != nil
        if !scanned, server.pullThrough != nil, mirror.lfs != .off {
            // A new mirror whose LFS objects nobody has looked for yet: find its pointers now, once.
            scanned = await server.discoverOnce(mirror)
        }
        var auth: [String: String] = [:]
        if let header = request.headers[.authorization] { auth["Authorization"] = header }
        var answers: [[String: Any]] = []
        for object in objects {
            let oidText = object["oid"] as? String ?? ""
            let size = (object["size"] as? NSNumber)?.int64Value ?? -1
            var answer: [String: Any] = ["oid": String(oidText.prefix(64)), "size": size]
            func error(_ code: Int, _ message: String) {
                answer["error"] = ["code": code, "message": message]
            }
            if let oid = LFSOID(oidText), size >= 0 {
                switch objectAvailability(mirror: mirror, oid: oid, size: size, scanned: scanned) {
                case .ready, .pullThrough:
                    answer["authenticated"] = true
                    var action: [String: Any] = ["href": (base ?? "") + "/\(mirror.name).git/info/lfs/objects/\(oid.hex)",
                                                 "expires_in": Self.hrefLifetime]
                    if !auth.isEmpty { action["header"] = auth }
                    answer["actions"] = ["download": action]
                case let .missing(code, message):
                    error(code, message)
                }
            } else {
                error(422, "invalid object: an oid is 64 lowercase hex digits and a size is a non-negative integer")
            }
            answers.append(answer)
        }
        let reply: [String: Any] = ["transfer": "basic", "objects": answers, "hash_algo": "sha256"]
        let out = (try? JSONSerialization.data(withJSONObject: reply)) ?? Data()
        return Response(status: .ok, headers: [.contentType: "application/vnd.git-lfs+json"], body: .init(byteBuffer: ByteBuffer(bytes: out)))
    }

    enum Availability {
        case ready(path: String, size: Int64)
        case pullThrough(LFSPointer)
        case missing(code: Int, message: String)
    }

    /// Whether `oid` can be served from `mirror`: only objects the mirror's LFS set references are.
    func objectAvailability(mirror: Mirror, oid: LFSOID, size: Int64?, scanned: Bool) -> Availability {
        guard let row = server.lookup.lfsObject(mirrorId: mirror.id!, oid: oid) else {
            return .missing(code: 404, message: scanned ? "object not referenced by \(mirror.name)" : "not mirrored yet: \(mirror.name)'s LFS objects have not been scanned")
        }
        if let size, size != row.size {
            return .missing(code: 422, message: "size mismatch: \(mirror.name) has this object with \(row.size) bytes")
        }
        let path = server.home.lfsObjectPath(mirror.name, oid)
        if let found = SafeObjectFile.size(path), found == row.size {
            return .ready(path: path, size: row.size)
        }
        // Out of the retention policy and moved to the mirror's archive: still served, from there.
        if row.state == .archived, let archived = server.home.lfsObjectLocation(mirror: mirror.name, oid: oid.hex, archive: mirror.lfsArchive),
           SafeObjectFile.size(archived) == row.size {
            return .ready(path: archived, size: row.size)
        }
        if row.state == .unavailable {
            return .missing(code: 404, message: "unavailable upstream: \(row.error ?? "the upstream LFS server does not have it")")
        }
        if server.pullThrough != nil, mirror.lfs != .off {
            return .pullThrough(LFSPointer(oid: oid, size: row.size))
        }
        return .missing(code: 404, message: "not mirrored yet")
    }

    func lfsObject(_ request: Request, _ x: Exchange, mirror: Mirror, oid: LFSOID) async throws -> Response {
        guard request.method == .get || request.method == .head else { throw Failure(.methodNotAllowed, "objects are read with GET", lfs: true) }
        let availability = objectAvailability(mirror: mirror, oid: oid, size: nil, scanned: true)
        let size: Int64
        switch availability {
        case let .ready(_, s): size = s
        case let .pullThrough(pointer): size = pointer.size
        case let .missing(code, message):
            throw Failure(HTTPResponse.Status(code: code), message, lfs: true)
        }
        var status = HTTPResponse.Status.ok
        var start: Int64 = 0
        var headers: HTTPFields = [.contentType: "application/octet-stream", .acceptRanges: "bytes", .eTag: "\"\(oid.hex)\""]
        switch ByteRange.parse(request.headers[.range], size: size) {
        case .none:
            break
        case let .from(offset):
            status = .partialContent
            start = offset
            headers[.contentRange] = "bytes \(offset)-\(size - 1)/\(size)"
        case .unsatisfiable:
            throw Failure(.rangeNotSatisfiable, "range not satisfiable: the object has \(size) bytes", headers: [.contentRange: "bytes */\(size)"])
        }
        let count = size - start
        let from = start
        headers[.contentLength] = String(count)
        if request.method == .head { return Response(status: status, headers: headers) }
        x.streamed = true
        let metrics = server.metrics
        let code = Int(status.code)
        let body: ResponseBody
        switch availability {
        case let .ready(path, _):
            guard let channel = x.channel else { throw Failure(.internalServerError, "no connection to send the object on", lfs: true) }
            headers[FileBodyHandler.markerField] = "1"
            body = ResponseBody(contentLength: Int(count)) { writer in
                metrics.downloadStarted()
                defer { metrics.downloadEnded() }
                let fd: Int32
                do {
                    fd = try SafeObjectFile.open(path, size: size)
                } catch {
                    x.finish(status: 404, bytes: 0)
                    throw error
                }
                // The kernel copies the file to the socket (sendfile); the handle is ours to close.
                let handle = NIOFileHandle(_deprecatedTakingOwnershipOfDescriptor: fd)
                defer { try? handle.close() }
                let sent: Int64
                do {
                    sent = try await FileBody.send(handle, offset: from, count: count, on: channel)
                    try await writer.finish(nil)
                } catch let failed as FileBodyFailed {
                    x.finish(status: 499, bytes: failed.sent)
                    throw failed
                } catch {
                    x.finish(status: 499, bytes: count)
                    throw error
                }
                x.finish(status: code, bytes: sent)
            }
        case let .pullThrough(pointer):
            let flight = server.pullThrough!.flight(mirror: mirror, pointer: pointer)
            let home = server.home
            body = ResponseBody(contentLength: Int(count)) { writer in
                metrics.downloadStarted()
                defer { metrics.downloadEnded() }
                var sent: Int64 = 0
                do {
                    try await PartFollower(home: home, mirror: mirror.name, pointer: pointer, flight: flight)
                        .stream(from: from) { chunk in
                            sent += Int64(chunk.readableBytes)
                            try await writer.write(chunk)
                        }
                    try await writer.finish(nil)
                } catch {
                    x.finish(status: 499, bytes: sent)
                    throw error
                }
                x.finish(status: code, bytes: sent)
            }
        case .missing:
            throw Failure(.notFound, "not found", lfs: true)
        }
        return Response(status: status, headers: headers, body: body)
    }
}

/// A `Range` header, as far as objects need it: `bytes=N-`, `bytes=N-M` (served to the end, which
/// RFC 9110 allows), or `bytes=-N` (the last N bytes).
enum ByteRange: Equatable {
    case none
    case from(Int64)
    case unsatisfiable

    static func parse(_ header: String?, size: Int64) -> ByteRange {
        guard let header, header.hasPrefix("bytes="), !header.contains(",") else { return .none }
        let spec = header.dropFirst(6).trimmingCharacters(in: .whitespaces)
        guard let dash = spec.firstIndex(of: "-") else { return .none }
        let first = spec[..<dash]
        let last = spec[spec.index(after: dash)...]
        if first.isEmpty {
            guard let suffix = Int64(last), suffix > 0 else { return .none }
            return size == 0 ? .unsatisfiable : .from(max(0, size - suffix))
        }
        guard let start = Int64(first), start >= 0 else { return .none }
        if !last.isEmpty { guard let end = Int64(last), end >= start else { return .none } }
        return start < size ? (start == 0 ? .none : .from(start)) : .unsatisfiable
    }
}

/// Opens an object file for serving: a regular file (never a symlink, FIFO or device) of the expected size.
enum SafeObjectFile {
    struct Refused: Error {}

    static func size(_ path: String) -> Int64? {
        var st = stat()
        guard lstat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { return nil }
        return Int64(st.st_size)
    }

    static func open(_ path: String, size: Int64) throws -> Int32 {
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)
        guard fd >= 0 else { throw ServeResponder.Failure(.notFound, "object not found", lfs: true) }
        var st = stat()
        guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG, Int64(st.st_size) == size else {
            close(fd)
            throw ServeResponder.Failure(.notFound, "object not found", lfs: true)
        }
        return fd
    }
}

/// Follows an object's `.part` file while a pull-through flight downloads it, then the placed object.
struct PartFollower {
    let home: Home
    let mirror: String
    let pointer: LFSPointer
    let flight: PullThrough.Flight

    struct Failed: Error, CustomStringConvertible {
        let description: String
    }

    /// Calls `emit` with the object's bytes from `start` to its end, as they become available.
    func stream(from start: Int64, _ emit: (ByteBuffer) async throws -> Void) async throws {
        var offset = start
        var part: Int32 = -1
        defer { if part >= 0 { close(part) } }
        let partPath = home.lfsPartPath(pointer.oid)
        var idle = 0
        while offset < pointer.size {
            switch flight.state {
            case let .placed(path):
                let fd = try SafeObjectFile.open(path, size: pointer.size)
                defer { close(fd) }
                let reader = ChunkReader(file: fd, offset: offset, count: pointer.size - offset)
                do {
                    while let chunk = try await reader.next() { try await emit(chunk) }
                } catch {
                    await reader.drain()
                    throw error
                }
                return
            case let .failed(why):
                throw Failed(description: "pull-through of \(pointer.oid.short) failed: \(why)")
            case .running:
                break
            }
            if part < 0 { part = Glibc.open(partPath, O_RDONLY | O_CLOEXEC | O_NOFOLLOW) }
            var st = stat()
            if part >= 0, fstat(part, &st) == 0, Int64(st.st_size) > offset {
                let count = min(Int64(st.st_size), pointer.size) - offset
                let reader = ChunkReader(file: part, offset: offset, count: count)
                while let chunk = try await reader.next() {
                    offset += Int64(chunk.readableBytes)
                    try await emit(chunk)
                }
                idle = 0
                continue
            }
            idle += 1
            try await Task.sleep(for: .milliseconds(idle < 20 ? 10 : 50))
        }
    }
}
