import Crypto
import Foundation
import Testing
@testable import MirrorCore
@testable import MirrorDaemon

@Suite("webhook signatures and repository matching")
struct WebhookTests {
    func sign(_ body: [UInt8], _ secret: String) -> String {
        "sha256=" + HMAC<SHA256>.authenticationCode(for: body, using: SymmetricKey(data: Array(secret.utf8)))
            .map { String(format: "%02x", $0) }.joined()
    }

    @Test("only the HMAC-SHA256 of the exact body under the secret verifies")
    func signatures() {
        let body = Array(#"{"zen":"Keep it logically awesome."}"#.utf8)
        let secret = Array("s3cret".utf8)
        #expect(Webhook.verify(signature: sign(body, "s3cret"), body: body, secret: secret))
        #expect(Webhook.verify(signature: sign(body, "s3cret").uppercased().replacingOccurrences(of: "SHA256=", with: "sha256="), body: body, secret: secret))
        #expect(!Webhook.verify(signature: sign(body, "other"), body: body, secret: secret))
        #expect(!Webhook.verify(signature: sign(body + [0x20], "s3cret"), body: body, secret: secret))
        #expect(!Webhook.verify(signature: nil, body: body, secret: secret))
        #expect(!Webhook.verify(signature: "sha1=abc", body: body, secret: secret))
        #expect(!Webhook.verify(signature: String(sign(body, "s3cret").dropLast()), body: body, secret: secret))
    }

    @Test("URLs of one repository normalize alike, whatever the form")
    func normalize() {
        let https = Webhook.normalize("https://github.example/Team/Lib.git")
        #expect(https == "github.example/Team/Lib")
        #expect(Webhook.normalize("https://GitHub.Example/Team/Lib/") == https)
        #expect(Webhook.normalize("git@github.example:Team/Lib.git") == https)
        #expect(Webhook.normalize("ssh://git@github.example/Team/Lib") == https)
        #expect(Webhook.normalize("https://github.example:8443/Team/Lib.git") == "github.example:8443/Team/Lib")
        #expect(Webhook.normalize("not a url") == nil)
    }

    @Test("a signed push for a known upstream queues one sync; replays and unknown repositories do not")
    func handle() throws {
        let dir = FileManager.default.temporaryDirectory.path + "/md-webhook-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let catalog = try Catalog(path: dir + "/catalog.sqlite")
        try catalog.addMirror(Mirror(name: "team/lib", upstream: "https://github.example/team/lib.git"), actor: .local)
        let hook = Webhook(secret: "s3cret", catalog: catalog)
        let body = Array(#"{"repository":{"clone_url":"https://github.example/team/lib.git","full_name":"team/lib"}}"#.utf8)
        let ok = try hook.handle(event: "push", delivery: "1", signature: sign(body, "s3cret"), body: body, source: "192.0.2.1")
        #expect(ok == .queued(["team/lib"]))
        #expect(try catalog.jobs().map { $0.job.trigger } == [.webhook])
        #expect(try hook.handle(event: "push", delivery: "1", signature: sign(body, "s3cret"), body: body, source: "192.0.2.1")
                == .ignored("delivery 1 was already handled"))
        let other = Array(#"{"repository":{"clone_url":"https://github.example/team/other.git","full_name":"team/other"}}"#.utf8)
        #expect(try hook.handle(event: "push", delivery: "2", signature: sign(other, "s3cret"), body: other, source: "192.0.2.1")
                == .notFound("no mirror of team/other"))
        #expect(try hook.handle(event: "ping", delivery: "3", signature: sign(body, "s3cret"), body: body, source: "192.0.2.1") == .ignored("pong"))
        #expect(try Webhook(secret: nil, catalog: catalog).handle(event: "push", delivery: "4", signature: nil, body: body, source: "x") == .disabled)
        #expect(try catalog.jobs().count == 1)
    }
}
