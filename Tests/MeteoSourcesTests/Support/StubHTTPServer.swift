import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// An in-process HTTP/1.1 server on 127.0.0.1 with an ephemeral port, scripted per test:
/// it answers requests with a queue of canned responses (or a fallback), optionally after a
/// delay or with a truncated body, and records every request it received.
///
/// Each response closes its connection, which keeps the server simple and stateless.
final class StubHTTPServer: Sendable {
    struct Response: Sendable {
        var status: Int
        var headers: [(String, String)]
        var body: [UInt8]
        /// Wait this long before answering.
        var delay: Duration?
        /// Announce the full `Content-Length`, send half the body, then close.
        var truncated: Bool

        init(status: Int = 200, headers: [(String, String)] = [("Content-Type", "application/json")],
             body: String, delay: Duration? = nil, truncated: Bool = false) {
            self.status = status
            self.headers = headers
            self.body = Array(body.utf8)
            self.delay = delay
            self.truncated = truncated
        }
    }

    struct Request: Sendable {
        var method: String
        var uri: String
        var body: String
        var headers: [(String, String)]

        /// The value of a query or form parameter (from the URI for GET, the body for POST).
        func parameter(_ name: String) -> String? {
            let query = method == "POST" ? body : String(uri.split(separator: "?", maxSplits: 1).dropFirst().first ?? "")
            for pair in query.split(separator: "&") {
                let kv = pair.split(separator: "=", maxSplits: 1)
                if kv.first.map(String.init) == name {
                    return kv.count > 1 ? String(kv[1]).removingPercentEncodingSimple() : ""
                }
            }
            return nil
        }
    }

    private struct State {
        var queue: [Response] = []
        var fallback: Response? = nil
        var received: [Request] = []
    }

    private let state = Mutex(State())
    let port: Int
    private let serverChannel: NIOAsyncChannel<NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>, Never>

    private init(port: Int, serverChannel: NIOAsyncChannel<NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>, Never>) {
        self.port = port
        self.serverChannel = serverChannel
    }

    var baseURL: String { "http://127.0.0.1:\(port)" }

    /// Starts a server, runs `body` with it, and stops it.
    static func with<T: Sendable>(_ body: (StubHTTPServer) async throws -> T) async throws -> T {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .bind(host: "127.0.0.1", port: 0) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    return try NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>(wrappingChannelSynchronously: channel)
                }
            }
        let server = StubHTTPServer(port: channel.channel.localAddress?.port ?? 0, serverChannel: channel)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await server.run() }
            defer { group.cancelAll() }
            let result = try await body(server)
            try? await channel.channel.close()
            return result
        }
    }

    private func run() async {
        try? await withThrowingDiscardingTaskGroup { group in
            try await serverChannel.executeThenClose { connections in
                for try await connection in connections {
                    group.addTask { await self.serve(connection) }
                }
            }
        }
    }

    private func serve(_ connection: NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>) async {
        try? await connection.executeThenClose { inbound, outbound in
            var head: HTTPRequestHead?
            var body = ByteBuffer()
            for try await part in inbound {
                switch part {
                case .head(let h):
                    head = h
                    body.clear()
                case .body(var b):
                    body.writeBuffer(&b)
                case .end:
                    guard let head else { return }
                    let request = Request(method: head.method.rawValue, uri: head.uri,
                                          body: String(buffer: body), headers: head.headers.map { ($0.name, $0.value) })
                    let response = state.withLock { s -> Response in
                        s.received.append(request)
                        if !s.queue.isEmpty { return s.queue.removeFirst() }
                        return s.fallback ?? Response(status: 500, body: #"{"error":"stub has no response left"}"#)
                    }
                    if let delay = response.delay { try await Task.sleep(for: delay) }
                    var headers = HTTPHeaders(response.headers)
                    headers.replaceOrAdd(name: "Content-Length", value: String(response.body.count))
                    headers.replaceOrAdd(name: "Connection", value: "close")
                    try await outbound.write(.head(HTTPResponseHead(version: .http1_1, status: .init(statusCode: response.status), headers: headers)))
                    let bytes = response.truncated ? Array(response.body.prefix(response.body.count / 2)) : response.body
                    try await outbound.write(.body(.byteBuffer(ByteBuffer(bytes: bytes))))
                    if !response.truncated { try await outbound.write(.end(nil)) }
                    return
                }
            }
        }
    }

    /// Adds canned responses, answered in order.
    func enqueue(_ responses: Response...) {
        state.withLock { $0.queue += responses }
    }

    /// The answer once the queue is empty (default: a 500).
    func setFallback(_ response: Response) {
        state.withLock { $0.fallback = response }
    }

    var requests: [Request] { state.withLock { $0.received } }
}

extension String {
    /// Decodes `%XX` escapes and `+` (form encoding).
    func removingPercentEncodingSimple() -> String {
        var out = [UInt8]()
        var bytes = Array(utf8)[...]
        while let b = bytes.popFirst() {
            if b == UInt8(ascii: "%"), bytes.count >= 2,
               let v = UInt8(String(decoding: bytes.prefix(2), as: UTF8.self), radix: 16) {
                out.append(v)
                bytes = bytes.dropFirst(2)
            } else if b == UInt8(ascii: "+") {
                out.append(32)
            } else {
                out.append(b)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
