// The single entry point both doors use: validate the call, run it on the service, and turn any failure into an
// error value ({code, message}) that can cross IPC or HTTP. Stack traces stay on this side.
import { asXumxError } from '../engine/index.ts';
import type { ApiError, StudioApi } from './contract.ts';
import { validateCall } from './validate.ts';

export type CallOutcome = { ok: true; value: unknown } | { ok: false; error: ApiError };

export async function dispatchCall(api: StudioApi, method: unknown, args: unknown): Promise<CallOutcome> {
  try {
    if (typeof method !== 'string')
      return { ok: false, error: { code: 'BAD_ARGUMENT', message: 'call name must be text' } };
    const call = validateCall(method, args);
    const fn = api[call.method] as (...a: unknown[]) => Promise<unknown>;
    const value = await fn.apply(api, call.args);
    return { ok: true, value: value ?? null };
  } catch (e) {
    const err = asXumxError(e);
    if (err.code === 'INTERNAL') console.error('[xumx] internal error in', method, e);
    return { ok: false, error: { code: err.code, message: err.message } };
  }
}
