import { existsSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The encoder registry (docs/design.md: Encoders and the feature cache): frozen ImageNet CNNs whose last convolutional feature map A
 * ([H, W, K]) feeds the joint model. Each entry says how to get the weights, how to preprocess a
 * 224-px (or 299-px) RGB image and which graph node is A.
 */

/** How pixel values (0–255 RGB) are scaled before the network. */
export type Preprocess = 'minus1to1' | 'zero1';

export type EncoderSource =
  | {
      type: 'download';
      /** model.json URL; its weight shards are fetched from the same folder. */
      url: string;
      /** TF-Hub models are served as `…?tfjs-format=file`. */
      tfhub?: boolean;
      /**
       * SHA-256 of the feature sub-network's weights (see weightsFingerprint in load.ts), or null
       * where it could not be verified offline; then the first download is trusted and its
       * fingerprint recorded in the cache (trust on first use) and checked on every later load.
       */
      weightsSha256: string | null;
      /** Approximate download size, for `plumage encoders` before anything is downloaded. */
      approxBytes: number;
    }
  | { type: 'bundled'; pkg: 'nsfwjs'; model: 'mobilenet_v2_mid' | 'mobilenet_v2' };

export interface EncoderEntry {
  id: string;
  title: string;
  format: 'layers' | 'graph';
  inputSize: number;
  preprocess: Preprocess;
  /** Layer name (layers models) or node name (graph models) of the last conv map A. */
  featureNode: string;
  /** [H, W, K] of A at inputSize. */
  shape: [number, number, number];
  source: EncoderSource;
  provenance: string;
  /** Shown (and recorded in runs) whenever this encoder is used. */
  warning?: string;
  /** True for entries never exercised offline here (documented in docs/training.md). */
  untested?: boolean;
}

const TM = 'https://storage.googleapis.com/teachable-machine-models';
/** `@teachablemachine/image` builds these URLs with alpha.toFixed(2): 0.35, 0.50, 0.75, 1.00. */
const tmUrl = (alpha: string) =>
  `${TM}/mobilenet_v2_weights_tf_dim_ordering_tf_kernels_${alpha}_224_no_top/model.json`;

/**
 * Fingerprint of the Keras MobileNetV2 α=0.35 ImageNet base, computed from the copy in
 * ../shared/encoders/mobilenet_v2_035_tm (its 260 base tensors are byte-identical to Google's
 * file, per that folder's README). The other alphas could not be downloaded here.
 */
export const MOBILENET_V2_035_SHA256 = 'cf66fdbf0fca4f06b948436a1f3dfad7d65f80b4fe451a654fba3ff9bdfdc62e';

export const FALLBACK_WARNING =
  'no ImageNet encoder is cached or downloadable: using the MobileNetV2-1.4 bundled in the nsfwjs package ' +
  '(fine-tuned away from ImageNet). Real-photo accuracy will be lower (linear probe on 10 CUB classes: ' +
  'top-1 0.57 vs 0.81 for pure-ImageNet MobileNetV2-0.35). Go online once (plumage extract --encoder mobilenet_v2_100) ' +
  'or pass --encoder-path DIR.';

/** The Keras MobileNetV2 ImageNet bases that @teachablemachine/image loads (only α differs). */
function tmMobileNetV2(
  id: string,
  alpha: string,
  title: string,
  approxBytes: number,
  weightsSha256: string | null = null,
): EncoderEntry {
  return {
    id,
    title,
    format: 'layers',
    inputSize: 224,
    preprocess: 'minus1to1',
    featureNode: 'out_relu',
    shape: [7, 7, 1280],
    source: { type: 'download', url: tmUrl(alpha), weightsSha256, approxBytes },
    provenance:
      'Google Keras-applications MobileNetV2 ImageNet weights, as @teachablemachine/image loads them',
  };
}

export const REGISTRY: EncoderEntry[] = [
  tmMobileNetV2(
    'mobilenet_v2_100',
    '1.00',
    'MobileNetV2 α=1.0, ImageNet (Keras base, Teachable Machine storage)',
    9_000_000,
  ),
  tmMobileNetV2('mobilenet_v2_075', '0.75', 'MobileNetV2 α=0.75, ImageNet', 5_500_000),
  tmMobileNetV2('mobilenet_v2_050', '0.50', 'MobileNetV2 α=0.50, ImageNet', 3_000_000),
  tmMobileNetV2(
    'mobilenet_v2_035',
    '0.35',
    'MobileNetV2 α=0.35, ImageNet (light)',
    2_200_000,
    MOBILENET_V2_035_SHA256,
  ),
  {
    id: 'tfhub_mobilenet_v2_140',
    title: 'MobileNetV2 1.4 ImageNet feature vector (TF-Hub)',
    format: 'graph',
    inputSize: 224,
    preprocess: 'zero1',
    featureNode: 'module_apply_default/MobilenetV2/Conv_1/Relu6',
    shape: [7, 7, 1792],
    source: {
      type: 'download',
      url: 'https://tfhub.dev/google/tfjs-model/imagenet/mobilenet_v2_140_224/feature_vector/3/default/1',
      tfhub: true,
      weightsSha256: null,
      approxBytes: 24_000_000,
    },
    provenance: 'TF-Hub google/imagenet/mobilenet_v2_140_224/feature_vector',
    untested: true,
  },
  {
    id: 'tfhub_inception_v3',
    title: 'Inception V3 ImageNet feature vector (TF-Hub; closest to the paper’s Inception-v4)',
    format: 'graph',
    inputSize: 299,
    preprocess: 'zero1',
    featureNode: 'module_apply_default/InceptionV3/InceptionV3/Mixed_7c/concat',
    shape: [8, 8, 2048],
    source: {
      type: 'download',
      url: 'https://tfhub.dev/google/tfjs-model/imagenet/inception_v3/feature_vector/3/default/1',
      tfhub: true,
      weightsSha256: null,
      approxBytes: 96_000_000,
    },
    provenance: 'TF-Hub google/imagenet/inception_v3/feature_vector',
    untested: true,
  },
  {
    id: 'nsfwjs_mobilenet_v2_140',
    title: 'MobileNetV2 1.4 bundled in nsfwjs (offline fallback, not ImageNet)',
    format: 'graph',
    inputSize: 224,
    preprocess: 'zero1',
    featureNode:
      'StatefulPartitionedCall/sequential/keras_layer/StatefulPartitionedCall/StatefulPartitionedCall/StatefulPartitionedCall/predict/MobilenetV2/Conv_1/Relu6',
    shape: [7, 7, 1792],
    source: { type: 'bundled', pkg: 'nsfwjs', model: 'mobilenet_v2_mid' },
    provenance: 'nsfwjs 4.x mobilenet_v2_mid (MIT), used as a weights carrier only: its head is dropped',
    warning: FALLBACK_WARNING,
  },
];

/**
 * Warnings the app shows persistently (app:info): the offline fallback encoder is in use, i.e.
 * the latest run was trained on it, or its features exist while no ImageNet encoder is cached.
 * (Plain fs checks: this module must not load TF.js, the api process calls it.)
 */
export function encoderWarnings(
  encodersDir: string,
  featuresDir: string,
  latestRunEncoder?: string | null,
): string[] {
  const cached = (id: string) => existsSync(join(encodersDir, id, 'plumage-encoder.json'));
  const imagenetCached = DEFAULT_PREFERENCE.some(cached);
  const fallbackFeatures = existsSync(join(featuresDir, FALLBACK_ID));
  if (latestRunEncoder === FALLBACK_ID || (fallbackFeatures && !imagenetCached)) return [FALLBACK_WARNING];
  return [];
}

/** The order in which the default encoder is chosen: cached ImageNet weights, then downloads. */
export const DEFAULT_PREFERENCE = ['mobilenet_v2_100', 'mobilenet_v2_035'];
export const FALLBACK_ID = 'nsfwjs_mobilenet_v2_140';

export function encoderEntry(id: string): EncoderEntry | undefined {
  return REGISTRY.find((e) => e.id === id);
}
