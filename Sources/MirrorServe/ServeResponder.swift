import Foundation
import Hummingbird
import MirrorCore
import NIOCore

/// Answers every request of `mirrordeck serve`: parses the target strictly, checks credentials, finds
/// the mirror, then hands off to git smart HTTP, the LFS batch API or an object download.
struct ServeResponder: HTTPResponder {
    typealias Context = ServeRequestContext
    let server: ServeServer

    /// One request's bookkeeping: filled in as it goes, logged exactly once when it ends.
    final class Exchange: @unchecked Sendable {
        let started = Date()
        let method: String
        let target: String
        let userAgent: String?
        var entry: AccessLogEntry
        private let log: AccessLogger
        private var logged = false
        /// Set by handlers whose response body is written later: they log when it ends.
        var streamed = false
        /// The connection the request came on.
        let channel: (any Channel)?

        init(request: Request, client: String, log: AccessLogger, channel: (any Channel)? = nil) {
            self.channel = channel
            method = request.method.rawValue
            target = request.head.path ?? "/"
            userAgent = request.headers[.userAgent]
            entry = AccessLogEntry(at: started, client: client, user: nil, mirror: nil, kind: .other, status: 0, bytes: 0, durationMs: 0)
            self.log = log
        }

        func finish(status: Int, bytes: Int64) {
            guard !logged else { return }
            logged = true
            entry.status = status
            entry.bytes = bytes
            entry.durationMs = Int(Date().timeIntervalSince(started) * 1000)
            log.record(entry, method: method, target: target, userAgent: userAgent)
        }
    }

    func respond(to request: Request, context: Context) async throws -> Response {
        let exchange = Exchange(request: request, client: context.remoteAddress?.ipAddress ?? "unknown", log: server.accessLog,
                                channel: context.channel)
        let response: Response
        do {
            response = try await route(request, exchange)
        } catch let failure as Failure {
            response = failure.response
        }
        if !exchange.streamed { exchange.finish(status: Int(response.status.code), bytes: Int64(response.body.contentLength ?? 0)) }
        return response
    }

    /// A response that ends the request early (refusals and errors), thrown to keep handlers flat.
    struct Failure: Error {
        let response: Response
        init(_ status: HTTPResponse.Status, _ message: String, headers: HTTPFields = [:], lfs: Bool = false) {
            var fields = headers
            if lfs {
                fields[.contentType] = "application/vnd.git-lfs+json"
                let body = (try? JSONSerialization.data(withJSONObject: ["message": message])) ?? Data()
                response = Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: body)))
            } else {
                fields[.contentType] = "text/plain; charset=utf-8"
                response = Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(string: message + "\n")))
            }
        }
    }

    private func route(_ request: Request, _ x: Exchange) async throws -> Response {
        let route = ServeRoute.parse(x.target)
        switch route {
        case .health:
            return Self.text("ok\n")
        case .metrics:
            guard server.options.exposeMetrics else { throw Failure(.notFound, "not found") }
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                            body: .init(byteBuffer: ByteBuffer(string: server.renderMetrics())))
        case let .bad(reason):
            x.entry.kind = .refused
            throw Failure(.badRequest, "bad request: \(reason)")
        default:
            break
        }
        let isLFS: Bool
        switch route {
        case .lfsBatch, .lfsObject, .lfsLocks: isLFS = true
        default: isLFS = false
        }
        x.entry.kind = Self.kind(of: route)

        // Who is asking.
        let identity: ServeIdentity?
        switch server.auth.identify(request.headers) {
        case .invalid:
            throw Failure(.unauthorized, "the credentials are not valid (unknown, expired or revoked token)",
                          headers: [.wwwAuthenticate: "Basic realm=\"mirrordeck\""], lfs: isLFS)
        case .anonymous:
            identity = nil
            if server.options.auth == .tokens {
                throw Failure(.unauthorized, "this server needs a token: mirrordeck access token USER on the mirror host",
                              headers: [.wwwAuthenticate: "Basic realm=\"mirrordeck\""], lfs: isLFS)
            }
        case let .user(who):
            identity = who
            x.entry.user = who.user
        }

        // Which mirror: unknown, private-without-credentials and out-of-scope all read the same.
        let name = route.mirror!
        let notFound = Failure(.notFound, "no mirror called \(name) here", lfs: isLFS)
        guard let mirror = server.lookup.mirror(named: name) else { throw notFound }
        if mirror.isPrivate && identity == nil { throw notFound }
        if let identity, !identity.mayRead(name) { throw notFound }
        x.entry.mirror = name
        let repo = server.home.mirrorPath(name)
        guard FileManager.default.fileExists(atPath: repo + "/HEAD") else {
            throw Failure(.notFound, "\(name) has not been mirrored yet: its first sync has not finished", lfs: isLFS)
        }

        switch route {
        case let .infoRefs(_, service):
            switch service {
            case "git-upload-pack"?:
                return try await gitAdvertisement(request, x, repo: repo)
            case "git-receive-pack"?:
                x.entry.kind = .refused
                throw Failure(.forbidden, "read-only mirror: push to the upstream instead")
            default:
                throw Failure(.forbidden, "this server speaks git's smart HTTP only: use git 1.6.6 or newer")
            }
        case .uploadPack:
            return try await gitUploadPack(request, x, repo: repo)
        case .receivePack:
            x.entry.kind = .refused
            throw Failure(.forbidden, "read-only mirror: push to the upstream instead")
        case .lfsBatch:
            return try await lfsBatch(request, x, mirror: mirror)
        case let .lfsObject(_, oid):
            return try await lfsObject(request, x, mirror: mirror, oid: oid)
        case .lfsLocks:
            throw Failure(.notFound, "file locking is not supported by this read-only mirror", lfs: true)
        default:
            throw Failure(.notFound, "not found")
        }
    }

    private static func kind(of route: ServeRoute) -> AccessLogEntry.Kind {
        switch route {
        case .infoRefs: return .refs
        case .uploadPack: return .fetch
        case .lfsBatch: return .lfsBatch
        case .lfsObject: return .lfsObject
        case .receivePack: return .refused
        default: return .other
        }
    }

    static func text(_ body: String, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "text/plain; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: body)))
    }

    /// Collects a request body of at most `limit` bytes; 413 beyond.
    static func collect(_ request: Request, limit: Int) async throws -> ByteBuffer {
        if let length = request.headers[.contentLength].flatMap(Int.init), length > limit {
            throw Failure(.contentTooLarge, "request body of \(length) bytes is over the limit of \(limit)")
        }
        do {
            return try await request.body.collect(upTo: limit)
        } catch {
            throw Failure(.contentTooLarge, "request body is over the limit of \(limit) bytes")
        }
    }
}
