/// Catalog problems, phrased for the operator.
public enum CatalogError: Error, CustomStringConvertible, Equatable, Sendable {
    case duplicateName(String)
    case unknownMirror(String)
    case unknownJob(Int64)
    case database(path: String, message: String)

    public var description: String {
        switch self {
        case let .duplicateName(name):
            return "a mirror named \(Redactor.quote(name)) already exists: choose another name or remove it first"
        case let .unknownMirror(name):
            return "no mirror named \(Redactor.quote(name)): run 'mirrordeck list' to see the names"
        case let .unknownJob(id):
            return "no job #\(id): run 'mirrordeck jobs --all' to see job ids"
        case let .database(path, message):
            return "catalog \(path): \(message)"
        }
    }
}
