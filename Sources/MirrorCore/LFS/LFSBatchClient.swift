import CCurl
import Foundation

/// A download action from the batch API: where to GET the object, with which headers, until when.
struct LFSAction: Sendable {
    var href: String
    /// Sent with the download; may hold credentials, so never logged or stored.
    var headers: [(String, String)]
    var expiresAt: Date?

    /// Whether the action is too close to expiry to start a transfer with.
    func isExpired(now: Date = Date(), margin: TimeInterval = 5) -> Bool {
        guard let expiresAt else { return false }
        return expiresAt.timeIntervalSince(now) < margin
    }
}

/// The batch API's answer for one object.
enum LFSBatchAnswer: Sendable {
    case download(LFSAction)
    case error(LFSObjectError)
}

/// Talks to an LFS server's batch API (`POST <endpoint>/objects/batch`) over libcurl.
///
/// Request errors 429, 408 and 5xx (and dropped connections) are retried with exponential backoff,
/// honouring `Retry-After`; 401/403 end at once with a credentials message. Confine to one thread.
final class LFSBatchClient {
    static let mediaType = "application/vnd.git-lfs+json"
    static let maxResponseBytes = 64 << 20

    let endpoint: String
    let options: LFSOptions
    let insecureTLS: Bool
    let curl: CurlHandle

    init(endpoint: String, options: LFSOptions, insecureTLS: Bool, curl: CurlHandle) {
        self.endpoint = endpoint
        self.options = options
        self.insecureTLS = insecureTLS
        self.curl = curl
    }

    private var shown: String { LFSEndpoint.display(endpoint) }

    /// Asks for download actions for `objects` (at most `options.batchSize`); every object gets an answer.
    func download(_ objects: [LFSPointer], isCancelled: @escaping () -> Bool) throws -> [LFSOID: LFSBatchAnswer] {
        let body: [String: Any] = [
            "operation": "download",
            "transfers": ["basic"],
            "hash_algo": "sha256",
            "objects": objects.map { ["oid": $0.oid.hex, "size": $0.size] as [String: Any] },
        ]
        let payload = [UInt8](try JSONSerialization.data(withJSONObject: body))
        var request = CurlHandle.Request(url: endpoint + "/objects/batch", method: "POST")
        request.headers = [("Accept", Self.mediaType), ("Content-Type", Self.mediaType)]
        request.body = payload
        request.insecureTLS = insecureTLS
        request.netrc = true
        request.connectTimeout = options.connectTimeout
        request.stallTimeout = options.stallTimeout
        request.maxRedirects = options.maxRedirects

        var attempt = 0
        while true {
            if isCancelled() { throw LFSError.cancelled }
            var data = [UInt8]()
            var tooBig = false
            let callbacks = CurlHandle.Callbacks(isCancelled: isCancelled) { _, chunk in
                guard data.count + chunk.count <= Self.maxResponseBytes else { tooBig = true; return false }
                data.append(contentsOf: chunk)
                return true
            }
            let response = curl.perform(request, callbacks: callbacks)
            if isCancelled() { throw LFSError.cancelled }
            if tooBig { throw LFSError.batch(endpoint: shown, message: "the answer is larger than \(ByteFormat.format(Int64(Self.maxResponseBytes)))") }
            let problem: String
            var retryAfter: String?
            if !response.ok {
                problem = CurlErrors.describe(response, stallTimeout: options.stallTimeout, maxRedirects: options.maxRedirects)
                guard CurlErrors.isTransient(response) else { throw LFSError.batch(endpoint: shown, message: problem) }
            } else if let limit = HostRateLimit.parse(status: response.status, headers: response.headers,
                                                      host: URLComponents(string: endpoint)?.host ?? ""),
                      !(HostRateLimit.isBrief(limit, headers: response.headers) && attempt < options.retries) {
                // A rate limit is the host's state: the job waits for the reset. Only a brief 429 (a few
                // seconds, no quota headers) is retried here, as any overloaded server's.
                throw LFSError.rateLimited(limit)
            } else {
                switch response.status {
                case 200:
                    return try parse(data, requested: objects)
                case 401, 403:
                    throw LFSError.credentials(endpoint: shown, status: response.status)
                case 404, 410, 422:
                    // giftless answers 404 for a batch when it has none of the objects, 422 when it can validate
                    // none; a JSON message says it is the server talking, not a wrong endpoint.
                    if let message = Self.serverMessage(data, contentType: response.headers["content-type"]) {
                        return Dictionary(uniqueKeysWithValues: objects.map {
                            ($0.oid, LFSBatchAnswer.error(.unavailable(code: response.status, message: message)))
                        })
                    }
                    throw LFSError.batch(endpoint: shown, message: "answered \(response.status): there is no LFS server at that URL; check the upstream or set --lfs-url")
                case 408, 429, 500...599:
                    problem = "answered \(response.status)" + (Self.serverMessage(data, contentType: response.headers["content-type"]).map { " (\($0))" } ?? "")
                    retryAfter = response.headers["retry-after"]
                default:
                    let message = Self.serverMessage(data, contentType: response.headers["content-type"]).map { " (\($0))" } ?? ""
                    throw LFSError.batch(endpoint: shown, message: "answered \(response.status)\(message)")
                }
            }
            attempt += 1
            guard attempt <= options.retries else {
                throw LFSError.batch(endpoint: shown, message: "\(problem); gave up after \(attempt) attempts")
            }
            guard let delay = options.delay(attempt: attempt, retryAfter: retryAfter) else {
                throw LFSError.batch(endpoint: shown, message: "\(problem) and asked to wait longer than \(Int(options.retryAfterMax)) s (Retry-After)")
            }
            guard cancellableSleep(delay, isCancelled: isCancelled) else { throw LFSError.cancelled }
        }
    }

    /// Reads a batch answer. Objects are matched by exact oid; anything invalid is reported on the object
    /// it was meant for and never used to build a path or a request.
    func parse(_ data: [UInt8], requested: [LFSPointer]) throws -> [LFSOID: LFSBatchAnswer] {
        guard let json = try? JSONSerialization.jsonObject(with: Data(data)) as? [String: Any],
              let items = json["objects"] as? [Any] else {
            throw LFSError.batch(endpoint: shown, message: "the answer is not a batch response (no \"objects\" list)")
        }
        if let transfer = json["transfer"] as? String, transfer != "basic" {
            throw LFSError.batch(endpoint: shown, message: "the server chose transfer adapter \(Redactor.quote(transfer)), not \"basic\"")
        }
        let sizes = Dictionary(requested.map { ($0.oid, $0.size) }, uniquingKeysWith: { a, _ in a })
        var answers: [LFSOID: LFSBatchAnswer] = [:]
        var strays: [String] = []
        var strayCount = 0
        for case let item as [String: Any] in items {
            let rawOID = item["oid"] as? String ?? ""
            guard let oid = LFSOID(rawOID), let expected = sizes[oid] else {
                strayCount += 1
                if strays.count < 3 { strays.append(Redactor.quote(String(rawOID.prefix(80)))) }
                continue
            }
            if answers[oid] != nil { continue }
            answers[oid] = answer(for: item, expectedSize: expected)
        }
        for pointer in requested where answers[pointer.oid] == nil {
            let note = strays.isEmpty ? "" : "; it answered instead for \(strayCount) invalid or unrequested object id(s) (ignored): \(strays.sorted().joined(separator: ", "))"
            answers[pointer.oid] = .error(.badAnswer("the LFS server's batch answer did not include this object\(note)"))
        }
        return answers
    }

    private func answer(for item: [String: Any], expectedSize: Int64) -> LFSBatchAnswer {
        if let error = item["error"] as? [String: Any] {
            let code = (error["code"] as? NSNumber)?.intValue ?? 0
            let message = Self.clean(error["message"] as? String ?? "")
            return .error(.unavailable(code: code, message: message))
        }
        if let size = (item["size"] as? NSNumber)?.int64Value, size != expectedSize {
            return .error(.badAnswer("the LFS server says this object has \(size) bytes, the pointer says \(expectedSize)"))
        }
        guard let actions = item["actions"] as? [String: Any], let download = actions["download"] as? [String: Any] else {
            return .error(.badAnswer("the LFS server gave no download action for this object"))
        }
        guard let href = download["href"] as? String, !href.isEmpty else {
            return .error(.badAnswer("the LFS server's download action has no href"))
        }
        let scheme = href.split(separator: ":", maxSplits: 1).first.map { $0.lowercased() } ?? ""
        guard href.contains("://"), scheme == "http" || scheme == "https", LFSEndpoint.isHTTP(href) else {
            return .error(.badAnswer("the LFS server's download link uses \(Redactor.quote(String(scheme.prefix(20)))): only http(s) links are followed"))
        }
        var headers: [(String, String)] = []
        for (name, value) in download["header"] as? [String: Any] ?? [:] {
            guard let value = value as? String, Self.isSafeHeader(name, value) else {
                return .error(.badAnswer("the LFS server's download action has a malformed header \(Redactor.quote(String(name.prefix(40))))"))
            }
            headers.append((name, value))
        }
        var expiresAt: Date?
        if let seconds = (download["expires_in"] as? NSNumber)?.doubleValue, seconds != 0 {
            expiresAt = Date().addingTimeInterval(seconds)
        } else if let text = download["expires_at"] as? String {
            expiresAt = Self.parseDate(text)
        }
        return .download(LFSAction(href: href, headers: headers, expiresAt: expiresAt))
    }

    /// A header name of token characters and a value without line breaks (no header injection).
    static func isSafeHeader(_ name: String, _ value: String) -> Bool {
        !name.isEmpty && name.utf8.count < 256
            && name.unicodeScalars.allSatisfy { $0.isASCII && $0.value > 0x20 && $0.value < 0x7f && $0 != ":" }
            && !value.unicodeScalars.contains { $0 == "\r" || $0 == "\n" || $0 == "\0" }
    }

    /// The `message` of a JSON error body, cleaned to one short line.
    static func serverMessage(_ data: [UInt8], contentType: String?) -> String? {
        guard !data.isEmpty, data.count < 1 << 20,
              let json = try? JSONSerialization.jsonObject(with: Data(data)) as? [String: Any],
              let message = json["message"] as? String else { return nil }
        return clean(message)
    }

    /// One line, at most 200 characters, credentials redacted.
    static func clean(_ text: String) -> String {
        let oneLine = text.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7f ? " " : String($0) }.joined()
        let trimmed = oneLine.trimmingCharacters(in: .whitespaces)
        return Redactor.redact(trimmed.count > 200 ? String(trimmed.prefix(200)) + "…" : trimmed)
    }

    static func parseDate(_ text: String) -> Date? {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let d = f.date(from: text) { return d }
        f.formatOptions = [.withInternetDateTime]
        return f.date(from: text)
    }
}
