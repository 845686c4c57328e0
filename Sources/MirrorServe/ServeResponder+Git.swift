import Foundation
import HTTPTypes
import Hummingbird
import MirrorCore
import NIOCore

/// Git smart HTTP, read-only: git's own `upload-pack --stateless-rpc` does the work, streamed both ways.
extension ServeResponder {
    /// Largest upload-pack request accepted (wants and haves; git splits bigger negotiations).
    static let maxUploadPackRequest = 64 << 20

    /// `GIT_PROTOCOL` for upload-pack, from the client's `Git-Protocol` header (v2 negotiation), if sane.
    static func gitProtocol(_ request: Request) -> String? {
        guard let name = HTTPField.Name("Git-Protocol"), let value = request.headers[name], value.utf8.count <= 256 else { return nil }
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789=:._-".utf8)
        return value.utf8.allSatisfy(allowed.contains) ? value : nil
    }

    private func gitEnvironment(_ request: Request) -> [String: String] {
        var env = ["PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin",
                   "HOME": server.home.root, "GIT_CONFIG_GLOBAL": "/dev/null", "GIT_TERMINAL_PROMPT": "0"]
        if let proto = Self.gitProtocol(request) { env["GIT_PROTOCOL"] = proto }
        return env
    }

    func gitAdvertisement(_ request: Request, _ x: Exchange, repo: String) async throws -> Response {
        let env = gitEnvironment(request)
        let process = try ChildProcess(server.git, ["upload-pack", "--stateless-rpc", "--advertise-refs", repo], environment: env)
        process.closeStdin()
        // Protocol v2 clients get git's capability advertisement as it is; v0/v1 first get the service line.
        var prefix: ByteBuffer?
        if env["GIT_PROTOCOL"]?.contains("version=2") != true {
            var b = ByteBuffer()
            b.writeString("001e# service=git-upload-pack\n0000")
            prefix = b
        }
        return stream(process, x, prefix: prefix, contentType: "application/x-git-upload-pack-advertisement")
    }

    func gitUploadPack(_ request: Request, _ x: Exchange, repo: String) async throws -> Response {
        guard request.method == .post else { throw Failure(.methodNotAllowed, "git-upload-pack takes POST") }
        guard request.headers[.contentType] == "application/x-git-upload-pack-request" else {
            throw Failure(.unsupportedMediaType, "expected Content-Type application/x-git-upload-pack-request")
        }
        var body = try await Self.collect(request, limit: Self.maxUploadPackRequest)
        var bytes = body.readBytes(length: body.readableBytes) ?? []
        if let encoding = request.headers[.contentEncoding]?.lowercased(), encoding != "identity" {
            guard encoding == "gzip" || encoding == "x-gzip" else {
                throw Failure(.unsupportedMediaType, "unsupported Content-Encoding \(encoding): use gzip or none")
            }
            // Up to 64 MiB of inflating is CPU work for a thread of its own, not for the connection's event loop.
            let compressed = bytes
            let inflated: Result<[UInt8], Error> = await withCheckedContinuation { continuation in
                DispatchQueue.global().async {
                    continuation.resume(returning: Result { try Gunzip.inflate(compressed, limit: Self.maxUploadPackRequest) })
                }
            }
            do {
                bytes = try inflated.get()
            } catch {
                throw Failure(.badRequest, "bad request body: \(error)")
            }
        }
        x.entry.kind = Self.negotiationKind(bytes)
        let process = try ChildProcess(server.git, ["upload-pack", "--stateless-rpc", repo], environment: gitEnvironment(request))
        let input = bytes
        DispatchQueue.global().async {
            input.withUnsafeBytes { _ = process.writeStdin($0) }
            process.closeStdin()
        }
        return stream(process, x, prefix: nil, contentType: "application/x-git-upload-pack-result")
    }

    /// clone (wants, no haves), fetch (wants and haves), or a ref listing (v2 `ls-refs`).
    static func negotiationKind(_ body: [UInt8]) -> AccessLogEntry.Kind {
        func contains(_ needle: String) -> Bool {
            let n = Array(needle.utf8)
            guard body.count >= n.count else { return false }
            var i = 0
            while i + n.count <= body.count {
                if body[i] == n[0], Array(body[i..<(i + n.count)]) == n { return true }
                i += 1
            }
            return false
        }
        if contains("command=ls-refs") { return .refs }
        if contains("have ") { return .fetch }
        return contains("want ") ? .clone : .fetch
    }

    /// Streams the child's stdout as the response body; the child is killed if the client goes away.
    private func stream(_ process: ChildProcess, _ x: Exchange, prefix: ByteBuffer?, contentType: String) -> Response {
        x.streamed = true
        let metrics = server.metrics
        let logger = server.logger
        let body = ResponseBody { writer in
            metrics.downloadStarted()
            defer { metrics.downloadEnded() }
            let reader = ChunkReader(pipe: process.stdout)
            var sent: Int64 = 0
            do {
                if let prefix {
                    sent += Int64(prefix.readableBytes)
                    try await writer.write(prefix)
                }
                while let chunk = try await reader.next() {
                    sent += Int64(chunk.readableBytes)
                    try await writer.write(chunk)
                }
                try await writer.finish(nil)
            } catch {
                process.kill(SIGKILL)
                await reader.drain()
                _ = await Self.reap(process)
                x.finish(status: 499, bytes: sent)
                throw error
            }
            let (status, stderr) = await Self.reap(process)
            if status != 0 {
                logger.warning("git upload-pack for \(x.entry.mirror ?? "?") exited \(status): \(stderr.split(separator: "\n").first ?? "")")
            }
            x.finish(status: status == 0 ? 200 : 500, bytes: sent)
        }
        return Response(status: .ok, headers: [.contentType: contentType, .cacheControl: "no-cache"], body: body)
    }

    static func reap(_ process: ChildProcess) async -> (Int32, String) {
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(returning: process.wait()) }
        }
    }
}
