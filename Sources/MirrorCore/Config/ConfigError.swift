/// Problems with what an operator typed or wrote in a file; every case says how to fix it.
public enum ConfigError: Error, CustomStringConvertible, Equatable, Sendable {
    case invalidName(String, reason: String)
    case invalidURL(String, reason: String)
    case passwordInURL(String)
    case invalidInterval(String)
    case invalidLFSMode(String)
    case invalidLFSKeep(String, reason: String)
    case invalidArchive(String, reason: String)
    case homeUnusable(String, reason: String)
    case mirrorList(file: String, reason: String)
    case invalidRefFilter(String, reason: String)

    public var description: String {
        switch self {
        case let .invalidName(name, reason):
            return "invalid mirror name \(Redactor.quote(name)): \(reason); use \"repo\" or \"owner/repo\" made of letters, digits, '.', '_' and '-'"
        case let .invalidURL(url, reason):
            return "invalid upstream URL \(Redactor.quote(Redactor.redact(url))): \(reason)"
        case let .passwordInURL(url):
            return "upstream URL \(Redactor.quote(Redactor.redact(url))) embeds a password: remove it and put the credentials in ~/.netrc (http/https) or use an SSH key (ssh://)"
        case let .invalidInterval(text):
            return "invalid interval \(Redactor.quote(text)): use a number with a unit, e.g. 30m, 2h, 1d (at least 10s)"
        case let .invalidLFSMode(text):
            return "invalid LFS mode \(Redactor.quote(text)): use auto, on or off"
        case let .invalidLFSKeep(text, reason):
            return "invalid LFS retention policy \(Redactor.quote(text)): \(reason); use all, refs, tags:N (the newest N tags and every branch) or ref patterns such as refs/heads/*,refs/tags/v*,!refs/pull/*"
        case let .invalidArchive(path, reason):
            return "invalid LFS archive directory \(Redactor.quote(path)): \(reason); give an absolute path to a directory outside the home ('none' for no archive)"
        case let .homeUnusable(path, reason):
            return "cannot use home \(path): \(reason); pass --home DIR or set MIRRORDECK_HOME to a writable directory"
        case let .mirrorList(file, reason):
            return "\(file): \(reason)"
        case let .invalidRefFilter(text, reason):
            return "invalid ref filter \(Redactor.quote(text)): \(reason); use all, heads-tags, or comma-separated refs/... patterns with * and a leading ! to exclude"
        }
    }
}
