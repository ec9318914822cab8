/**
 * Child process of the kill trials: saves caption edits through the api as fast as it can and
 * prints `ACK <captionId> <seq>` after each save the api acknowledged, until it is killed.
 * Edits alternate between revising an existing caption (text "edit <seq>") and adding one
 * (text "added <seq>"); either way the caption's text ends in the edit's sequence number.
 *
 * usage: node --import tsx test/fault/edit-writer.ts HOME SEED
 */
import { createApi } from '../../src-main/api/service.ts';
import { mulberry32 } from '../../src-main/util/rng.ts';

const [home, seedArg] = process.argv.slice(2);
const api = createApi({ home, log: () => {} });
const rand = mulberry32(Number(seedArg));
const page = (await api.invoke('images:query', { limit: 50 })).result as { items: { id: number }[] };
const ids = page.items.map((i) => i.id);
const captionsOf = async (imageId: number) =>
  ((await api.invoke('images:get', { id: imageId })).result as { captions: { id: number }[] }).captions;

for (let seq = 1; ; seq++) {
  const imageId = ids[Math.floor(rand() * ids.length)];
  const existing = await captionsOf(imageId);
  const revise = existing.length > 0 && seq % 2 === 0;
  const captionId = revise ? existing[Math.floor(rand() * existing.length)].id : undefined;
  const text = revise ? `edit ${seq}` : `added ${seq}`;
  const env = await api.invoke('captions:save', { imageId, ...(captionId ? { captionId } : {}), text });
  if (env.error) {
    process.stdout.write(`ERR ${env.error.code} ${env.error.message}\n`);
    continue;
  }
  const saved = (env.result as { captions: { id: number; text: string }[] }).captions.find((c) => c.text === text);
  process.stdout.write(`ACK ${saved?.id ?? captionId} ${seq}\n`);
}
