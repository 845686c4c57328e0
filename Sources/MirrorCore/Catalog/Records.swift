import Foundation
import GRDB

/// Shared column naming for every catalog record: Swift camelCase, SQL snake_case.
public protocol CatalogRecord: Codable, FetchableRecord, MutablePersistableRecord {}

extension CatalogRecord {
    public static var databaseColumnDecodingStrategy: DatabaseColumnDecodingStrategy { .convertFromSnakeCase }
    public static var databaseColumnEncodingStrategy: DatabaseColumnEncodingStrategy { .convertToSnakeCase }
}

extension CatalogRecord {
    /// Inserts a copy of the record when the caller has no use for its new row id.
    func append(to db: Database) throws {
        var copy = self
        try copy.insert(db)
    }
}
