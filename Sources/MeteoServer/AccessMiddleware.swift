import Foundation
import Hummingbird
import MeteoCore

/// The server's front door, before any route:
/// - only GET and HEAD (the dashboard and the API only read): anything else is 405;
/// - a request that announces a body larger than ``maxBodyBytes`` is 413, before it is read;
/// - with a token, every route but `/healthz` needs it: `Authorization: Bearer <token>`, the
///   `meteo_token` cookie, or `?token=` once in a browser, which sets that cookie (HttpOnly,
///   SameSite=Strict). Tokens are compared in constant time. Without one it is 401.
/// Static files are compiled into the binary and served by exact path, so no request path
/// reaches the file system.
struct AccessMiddleware: RouterMiddleware {
    typealias Context = BasicRequestContext
    let token: [UInt8]?
    let maxBodyBytes: Int

    static let cookie = "meteo_token"

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard request.method == .get || request.method == .head else {
            var response = MeteoApp.error("method \(request.method) is not allowed: Meteo's server only reads (GET)", status: .methodNotAllowed)
            response.headers[.allow] = "GET, HEAD"
            return response
        }
        if let length = request.headers[.contentLength].flatMap({ Int($0) }), length > maxBodyBytes {
            return MeteoApp.error("request body of \(length) bytes is over the limit of \(maxBodyBytes) bytes", status: .contentTooLarge)
        }
        guard let token, request.uri.path != "/healthz" else { return try await next(request, context) }
        if let bearer = request.headers[.authorization], bearer.hasPrefix("Bearer "),
           Self.equal(Array(bearer.dropFirst(7).utf8), token) {
            return try await next(request, context)
        }
        if let cookies = request.headers[.cookie], Self.cookieValue(cookies).map({ Self.equal(Array($0.utf8), token) }) == true {
            return try await next(request, context)
        }
        if let query = request.uri.queryParameters["token"], Self.equal(Array(String(query).utf8), token) {
            var response = try await next(request, context)
            response.headers[values: .setCookie].append("\(Self.cookie)=\(String(decoding: token, as: UTF8.self)); Path=/; HttpOnly; SameSite=Strict")
            return response
        }
        var response = MeteoApp.error("this server needs its token: send Authorization: Bearer <token>, or open the page once with ?token=<token>", status: .unauthorized)
        response.headers[.wwwAuthenticate] = "Bearer"
        return response
    }

    /// `meteo_token`'s value in a Cookie header.
    static func cookieValue(_ header: String) -> String? {
        for part in header.split(separator: ";") {
            let item = part.trimmingCharacters(in: .whitespaces)
            if item.hasPrefix(cookie + "=") { return String(item.dropFirst(cookie.count + 1)) }
        }
        return nil
    }

    /// Equality whose time depends only on the lengths, not on where the bytes differ.
    static func equal(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var difference = UInt8(a.count == b.count ? 0 : 1)
        for i in 0..<max(a.count, b.count) {
            difference |= (i < a.count ? a[i] : 0) ^ (i < b.count ? b[i] : 0)
        }
        return difference == 0
    }
}
