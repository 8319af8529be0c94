// `Status` objects, the shape every real API server error (and some successes) takes on the wire.
import type { ServerResponse } from 'node:http'
import { ApiError } from '../store.ts'

export function statusOf(err: ApiError) {
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message: err.message,
    // an error the API server did not classify (e.g. a failed typed apply) has no reason
    ...(err.reason ? { reason: err.reason } : {}),
    ...(err.details || err.causes ? { details: { ...(err.details ?? {}), ...(err.causes ? { causes: err.causes } : {}) } } : {}),
    code: err.code,
  }
}

export function successStatus(details: Record<string, unknown>) {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details }
}

/** Any thrown value as an ApiError: ApiErrors pass through, anything else is a 500. */
export function asApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err
  const message = err instanceof Error ? err.message : String(err)
  return new ApiError(500, 'InternalError', `Internal error occurred: ${message}`, [{ field: '', message }])
}

export function sendJson(res: ServerResponse, code: number, body: unknown, contentType = 'application/json'): void {
  const text = JSON.stringify(body)
  res.writeHead(code, { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(text), 'Cache-Control': 'no-cache, private' })
  res.end(text)
}

export function sendError(res: ServerResponse, err: unknown): void {
  const e = asApiError(err)
  if (res.headersSent) {
    res.end()
    return
  }
  sendJson(res, e.code, statusOf(e))
}

/** The raw HTTP response written to a socket whose websocket upgrade is refused. */
export function rawErrorResponse(err: ApiError): string {
  const body = JSON.stringify(statusOf(err))
  const text = { 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 500: 'Internal Server Error' }[err.code] ?? 'Error'
  return `HTTP/1.1 ${err.code} ${text}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`
}
