public import EngramAccounts
import EngramAuth
import EngramMemory
public import EngramMemoryModel
import Foundation
public import HTTPTypes
public import Hummingbird

/// The one place where domain errors become HTTP answers (handlers just throw them): the same
/// `{"error": {"code", "message"}}` body as `APIError`. Messages never hold memory content or secrets.
extension MemoryError: HTTPResponseError {
    public var status: HTTPResponse.Status {
        switch self {
        case .notFound: return .notFound
        case .forbidden: return .forbidden
        case .invalid: return .badRequest
        case .secretDetected, .poisoningDetected: return .unprocessableContent
        case .unavailable: return .serviceUnavailable
        case .conflict: return .conflict
        }
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        try apiError.response(from: request, context: context)
    }

    /// The REST error this domain error answers with.
    package var apiError: APIError {
        switch self {
        case .notFound: return .notFound
        case let .forbidden(why): return APIError(.forbidden, code: code, why)
        case .invalid, .secretDetected, .poisoningDetected, .unavailable, .conflict: return APIError(status, code: code, description)
        }
    }
}

extension DirectoryError: HTTPResponseError {
    public var status: HTTPResponse.Status {
        switch self {
        case .invalidIdentifier: return .badRequest
        case .notFound: return .notFound
        case .lastOwner, .alreadyExists: return .conflict
        }
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        let code = status == .conflict ? "conflict" : status == .notFound ? "not_found" : "invalid_request"
        return try APIError(status, code: code, description).response(from: request, context: context)
    }
}

extension OrgAdministrationError: HTTPResponseError {
    public var status: HTTPResponse.Status {
        switch self {
        case .forbidden: return .forbidden
        case .notFound: return .notFound
        }
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        switch self {
        case let .forbidden(why): return try APIError(.forbidden, code: "forbidden", why).response(from: request, context: context)
        case .notFound: return try APIError.notFound.response(from: request, context: context)
        }
    }
}

extension AccountError: HTTPResponseError {
    public var status: HTTPResponse.Status {
        switch self {
        case .invalidCredentials, .totpRequired, .invalidTOTP: return .unauthorized
        case .weakPassword, .invalid: return .badRequest
        case .invalidLink, .notFound: return .notFound
        case .reauthRequired, .totpEnrolmentRequired: return .forbidden
        case .encryptionKeyMissing, .conflict: return .conflict
        }
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        try APIError(status, code: code, description).response(from: request, context: context)
    }
}
