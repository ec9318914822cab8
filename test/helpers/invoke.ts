import type { PlumageApi } from '../../src-main/api/service.ts';

/** Invokes an api channel and returns its result, throwing (with the code) on an error envelope. */
export async function invokeOk<T>(api: PlumageApi, channel: string, req?: unknown): Promise<T> {
  const env = await api.invoke(channel, req);
  if (env.error) throw new Error(`${channel}: ${env.error.code} ${env.error.message}`);
  return env.result as T;
}
