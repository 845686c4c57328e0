import CGit2

/// Git problems, phrased so the operator knows what to do next.
public enum GitError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The upstream could not be read; `hint` says what to check.
    case upstream(url: String, message: String, hint: String)
    /// The local mirror repository could not be opened, created or updated.
    case repository(path: String, message: String)
    /// Another process holds the mirror's lock.
    case busy(name: String)
    case cancelled

    public var description: String {
        switch self {
        case let .upstream(url, message, hint):
            return "upstream \(url): \(message)" + (hint.isEmpty ? "" : ": \(hint)")
        case let .repository(path, message):
            return "mirror repository \(path): \(message)"
        case let .busy(name):
            return "mirror \(Redactor.quote(name)) is being synced by another process: wait for it or cancel that job"
        case .cancelled:
            return "cancelled"
        }
    }

    /// libgit2's last error on this thread, as text (read it right after the failing call).
    static func lastMessage(_ code: Int32) -> String {
        if let err = git_error_last(), let msg = err.pointee.message {
            return Redactor.redact(String(cString: msg)).trimmingCharacters(in: .whitespacesAndNewlines)
        }
        return "libgit2 error \(code)"
    }

    /// Classifies a failure to talk to `url` and attaches the fix an operator should try.
    static func upstream(url: String, code: Int32) -> GitError {
        let message = lastMessage(code)
        let lower = message.lowercased()
        let hint: String
        if code == GIT_EUSER.rawValue {
            return .cancelled
        } else if FetchSteps.isTransferFailure(message) {
            hint = "the link to the upstream broke off mid-transfer; completed fetch steps are kept and the next sync goes on from them"
        } else if lower.contains("failed to resolve path") || lower.contains("no such file or directory") {
            hint = "no repository at that path; check the path or remove the mirror"
        } else if lower.contains("resolve") {
            hint = "the host name does not resolve; check the URL"
        } else if lower.contains("connection refused") || lower.contains("failed to connect") || lower.contains("could not connect") {
            hint = "nothing answers at that address; check the host and port, or whether the server is running"
        } else if lower.contains("timed out") {
            hint = "the upstream did not answer in time; check the network or try again later"
        } else if lower.contains("401") || lower.contains("403") || lower.contains("authentication") || lower.contains("credentials") {
            hint = "the upstream requires credentials; put them in ~/.netrc (http/https) or use an SSH key (ssh://)"
        } else if lower.contains("404") || lower.contains("not found") || lower.contains("does not appear") || lower.contains("no such")
                    || lower.contains("not exported") || lower.contains("could not find repository") {
            hint = "no repository at that URL; check the URL or remove the mirror"
        } else if lower.contains("certificate") || lower.contains("ssl") || lower.contains("tls") {
            hint = "TLS verification failed; fix the server's certificate or its CA on this host"
        } else if lower.contains("content-type") || lower.contains("packet") || lower.contains("not a git")
                    || lower.contains("invalid") || lower.contains("unexpected") || lower.contains("remote error") {
            hint = "the server did not answer as a git repository; check the URL"
        } else {
            hint = ""
        }
        return .upstream(url: Redactor.redact(url), message: message, hint: hint)
    }
}

import Foundation
