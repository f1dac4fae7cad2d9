// Shapes shared by the analysis stages.

/** Pitch-class energy per frame: frames[t][pc], pc 0 = C; frame t centred at t / rate seconds. */
export interface Chromagram {
  rate: number;
  frames: Float64Array[];
}
