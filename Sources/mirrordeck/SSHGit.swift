import ArgumentParser
import Foundation
import MirrorCore

/// Git over SSH for granted users, read-only: `git-upload-pack` runs git's own upload-pack on the mirror,
/// `git-lfs-authenticate … download` hands out a short-lived signed token for the HTTP server, and every
/// push is refused, whatever the role.
enum SSHGit {
    static func run(_ command: GitSSHCommand, home: Home, catalog: Catalog, actor: Actor, role: Role) throws {
        func refuse(_ why: String, mirror: String?) throws -> Never {
            try? catalog.record(Event(actor: actor, action: "ssh-refused", mirror: mirror, message: why))
            try? catalog.appendAccessLog([AccessLogEntry(at: Date(), client: actor.source, user: actor.user, mirror: mirror,
                                                         kind: .refused, status: 403, bytes: 0, durationMs: 0)])
            throw CLIError(description: why)
        }
        try role.check(.view)
        switch command {
        case let .receivePack(name):
            try refuse("read-only mirror: \(name) cannot be pushed to; push to its upstream", mirror: name)
        case let .lfsAuthenticate(name, operation):
            guard operation == "download" else { try refuse("read-only mirror: LFS uploads go to the upstream", mirror: name) }
            _ = try mirror(name, catalog: catalog)
            guard let base = try catalog.setting("serve.url") else {
                throw CLIError(description: "no LFS server on this host: start 'mirrordeck serve' (or daemon --serve-listen)")
            }
            let expires = Date().addingTimeInterval(ServeToken.signedLifetime)
            let token = ServeToken.sign(user: actor.user, mirror: name, expires: expires, key: try ServeToken.signingKey(home: home))
            let reply: [String: Any] = ["href": "\(base)/\(name).git/info/lfs", "header": ["Authorization": "Bearer \(token)"],
                                        "expires_in": Int(ServeToken.signedLifetime)]
            let data = try JSONSerialization.data(withJSONObject: reply, options: [.sortedKeys])
            FileHandle.standardOutput.write(data + Data("\n".utf8))
        case let .uploadPack(name):
            _ = try mirror(name, catalog: catalog)
            let repo = home.mirrorPath(name)
            guard FileManager.default.fileExists(atPath: repo + "/HEAD") else {
                throw CLIError(description: "\(name) has not been mirrored yet: its first sync has not finished")
            }
            try uploadPack(repo: repo, name: name, catalog: catalog, actor: actor)
        }
    }

    private static func mirror(_ name: String, catalog: Catalog) throws -> Mirror {
        do {
            return try catalog.mirror(named: name)
        } catch {
            throw CLIError(description: "no mirror called \(name) here: run 'ssh HOST status' for the list")
        }
    }

    /// Runs `git upload-pack` with the session's stdin and stdout passed through (counted, and sniffed for
    /// `have` lines to tell a fetch from a clone), then records the access.
    private static func uploadPack(repo: String, name: String, catalog: Catalog, actor: Actor) throws {
        guard let git = ChildProcess.which("git") else { throw CLIError(description: "git is not installed on the mirror host") }
        var env = ["PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin", "HOME": NSTemporaryDirectory(),
                   "GIT_CONFIG_GLOBAL": "/dev/null"]
        if let proto = ProcessInfo.processInfo.environment["GIT_PROTOCOL"], proto.utf8.count <= 256,
           proto.unicodeScalars.allSatisfy({ $0.properties.isAlphabetic || ("0"..."9").contains($0) || "=:._-".unicodeScalars.contains($0) }) {
            env["GIT_PROTOCOL"] = proto
        }
        let started = Date()
        let child = try ChildProcess(git, ["upload-pack", "--strict", repo], environment: env)
        let sawHave = HaveSniffer()
        let input = Thread {
            var buffer = [UInt8](repeating: 0, count: 64 << 10)
            while true {
                let n = read(0, &buffer, buffer.count)
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { break }
                sawHave.look(buffer[0..<n])
                guard buffer.withUnsafeBytes({ child.writeStdin(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }) else { break }
            }
            child.closeStdin()
        }
        input.stackSize = 256 << 10
        input.start()
        var sent: Int64 = 0
        var buffer = [UInt8](repeating: 0, count: 64 << 10)
        while true {
            let n = read(child.stdout, &buffer, buffer.count)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            var off = 0
            while off < n {
                let w = buffer.withUnsafeBytes { write(1, $0.baseAddress! + off, n - off) }
                if w < 0 && errno == EINTR { continue }
                if w <= 0 { child.kill(SIGKILL); break }
                off += w
            }
            sent += Int64(n)
        }
        let (status, stderr) = child.wait()
        let kind: AccessLogEntry.Kind = sawHave.wants ? (sawHave.haves ? .fetch : .clone) : .refs
        try? catalog.appendAccessLog([AccessLogEntry(at: started, client: actor.source, user: actor.user, mirror: name, kind: kind,
                                                     status: status == 0 ? 200 : 500, bytes: sent,
                                                     durationMs: Int(Date().timeIntervalSince(started) * 1000))])
        if status != 0 {
            FileHandle.standardError.write(Data(stderr.utf8))
            throw ExitCode(1)
        }
    }
}

/// Watches the client's side of an upload-pack conversation for `want` and `have` lines.
private final class HaveSniffer: @unchecked Sendable {
    private let lock = NSLock()
    private var seen = 0
    private var tail: [UInt8] = []
    private var _wants = false
    private var _haves = false

    func look(_ bytes: ArraySlice<UInt8>) {
        lock.lock()
        defer { lock.unlock() }
        guard seen < 4 << 20 else { return }
        seen += bytes.count
        let window = tail + bytes
        if !_wants, contains(window, "want ") { _wants = true }
        if !_haves, contains(window, "have ") { _haves = true }
        tail = Array(window.suffix(4))
    }

    var wants: Bool { lock.lock(); defer { lock.unlock() }; return _wants }
    var haves: Bool { lock.lock(); defer { lock.unlock() }; return _haves }

    private func contains(_ hay: [UInt8], _ needle: String) -> Bool {
        let n = Array(needle.utf8)
        guard hay.count >= n.count else { return false }
        for i in 0...(hay.count - n.count) where hay[i] == n[0] && Array(hay[i..<(i + n.count)]) == n { return true }
        return false
    }
}
