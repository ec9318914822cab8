/** The median of a list of timings (the upper one of the middle two for an even count). */
export const median = (x: number[]): number => [...x].sort((a, b) => a - b)[Math.floor(x.length / 2)];
