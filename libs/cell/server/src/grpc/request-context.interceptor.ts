import {
  type CallHandler,
  type ExecutionContext,
  Injectable,
  type NestInterceptor,
} from '@nestjs/common';
import type { Metadata } from '@grpc/grpc-js';
import { type Observable, tap } from 'rxjs';

import { CellError, CellErrorCode } from '@cellpay/cell-domain';
import {
  isValidRequestId,
  type Logger,
  newRequestId,
  type RequestContext,
  requestContextMetadata,
  requestIdLengthMax,
  runInRequestContext,
  stressMarkOf,
} from '@cellpay/observability';

/**
 * The request context of a call from its metadata: the gateway's request ID (a fresh one for a
 * call without, such as an operator's tool talking to the cell directly) and the stress mark.
 * A malformed ID or mark is refused rather than guessed at: a wrong guess about the mark would
 * put stress traffic into the live tables.
 */
export function requestContextOf(metadata: Metadata): RequestContext {
  const idValue = metadata.get(requestContextMetadata.requestId)[0];
  const stressValue = metadata.get(requestContextMetadata.stress)[0];
  const requestId = idValue === undefined ? newRequestId() : String(idValue);
  if (!isValidRequestId(requestId)) {
    throw new CellError(
      CellErrorCode.MalformedField,
      `${requestContextMetadata.requestId} must be 1 to ${requestIdLengthMax} characters of [A-Za-z0-9_.:-]`,
    );
  }
  const stress = stressMarkOf(stressValue === undefined ? undefined : String(stressValue));
  if (stress === undefined) {
    throw new CellError(
      CellErrorCode.MalformedField,
      `${requestContextMetadata.stress} must be 1 or 0`,
    );
  }
  return { requestId, stress };
}

/**
 * Runs every handler inside the request context of its call, so the unit of work picks the live
 * or shadow tables and every log line carries the request ID. It must be the outermost
 * interceptor: Nest binds the handler's async context when `handle()` is called, which here
 * happens inside the context. Each call ends with one `debug` line (off at the default level,
 * where pino's level check is all it costs), so a request can be followed through the cell.
 */
@Injectable()
export class RequestContextInterceptor implements NestInterceptor {
  constructor(private readonly logger: Logger) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const requestContext = requestContextOf(context.switchToRpc().getContext<Metadata>());
    const method = context.getHandler().name;
    // rxjs delivers completion outside the handler's async context, so the line re-enters it.
    const logCall = (outcome: string): void =>
      runInRequestContext(requestContext, () =>
        this.logger.debug({ method, outcome }, 'cell call'),
      );
    return runInRequestContext(requestContext, () =>
      next.handle().pipe(
        tap({
          complete: () => logCall('ok'),
          error: (error: unknown) => logCall(error instanceof CellError ? error.code : 'error'),
        }),
      ),
    );
  }
}
