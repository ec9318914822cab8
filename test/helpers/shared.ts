import { join, resolve } from 'node:path';

/**
 * The reference material beside the repository (`../shared`): sample CUB / Oxford-102 data, metric
 * and interop test vectors, a small TF.js encoder, the PyTorch reference. Tests read it; nothing
 * copies it into the repository. Every test finds it through this module.
 */
export const SHARED_DIR = resolve(import.meta.dirname, '../../../shared');

export const sharedPath = (...parts: string[]): string => join(SHARED_DIR, ...parts);

/** The small ImageNet MobileNetV2 (TF.js layers model) the extraction and captioning tests use. */
export const SHARED_ENCODER = sharedPath('encoders', 'mobilenet_v2_035_tm');
