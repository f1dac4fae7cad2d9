// Song analysis accuracy and cost on the generated tempo/key test set (test/fixtures/tempo-key-songs.ts: mma +
// fluidsynth, known tempo, meter and key): tempo within 2 % (an octave error counts as wrong), beats and downbeats
// as F-measure within 50 ms, meter and key exact; then the time to analyse a 3-minute song. Prints JSON.
//   node --import tsx bench/analysis.bench.ts
import { decodeFile } from '../src-main/engine/audio/decode.ts';
import { analyzeMix } from '../src-main/engine/analysis/index.ts';
import { PITCH_CLASSES } from '../src-main/engine/analysis/key.ts';
import {
  TEST_SET,
  canRenderSongs,
  eventFMeasure,
  knownBeats,
  knownDownbeats,
  renderSong,
  songId,
  type SongSpec,
} from '../test/fixtures/tempo-key-songs.ts';

if (!canRenderSongs()) {
  console.log(
    JSON.stringify({
      skipped: 'mma, fluidsynth and a GM soundfont are needed (Debian: mma fluidsynth fluid-soundfont-gm)',
    }),
  );
  process.exit(0);
}

interface SongScore {
  song: string;
  bpm: number | null;
  tempoOk: boolean;
  beatF: number;
  downbeatF: number;
  meterOk: boolean;
  key: string | null;
  keyOk: boolean;
  confidence: { tempo: number; key: number } | null;
}
const songs: SongScore[] = [];
for (const spec of TEST_SET) {
  const song = renderSong(spec);
  const audio = await decodeFile(song.path);
  const a = analyzeMix(audio.channels, audio.sampleRate);
  const ratio = a ? a.bpm / spec.bpm : 0;
  songs.push({
    song: songId(spec),
    bpm: a?.bpm ?? null,
    tempoOk: Math.abs(ratio - 1) <= 0.02,
    beatF: a ? eventFMeasure(a.beats, knownBeats(song)) : 0,
    downbeatF: a ? eventFMeasure(a.downbeats, knownDownbeats(song)) : 0,
    meterOk: a?.beatsPerBar === spec.beatsPerBar,
    key: a?.key ? `${a.key.tonic} ${a.key.mode}` : null,
    keyOk: !!a?.key && PITCH_CLASSES.indexOf(a.key.tonic) === spec.tonic && a.key.mode === spec.mode,
    confidence: a?.confidence ?? null,
  });
}
const share = (f: (s: SongScore) => boolean) => Math.round((songs.filter(f).length / songs.length) * 1000) / 1000;
const mean = (f: (s: SongScore) => number) =>
  Math.round((songs.reduce((n, s) => n + f(s), 0) / songs.length) * 1000) / 1000;

// A 3-minute song: 90 bars of 4/4 at 120 BPM.
const long: SongSpec = { style: '8beat', bpm: 120, tonic: 2, mode: 'major', beatsPerBar: 4, bars: 90 };
const longAudio = await decodeFile(renderSong(long).path);
const runs: number[] = [];
for (let i = 0; i < 3; i++) {
  const t0 = performance.now();
  analyzeMix(longAudio.channels, longAudio.sampleRate);
  runs.push((performance.now() - t0) / 1000);
}
const seconds = longAudio.channels[0].length / longAudio.sampleRate;

console.log(
  JSON.stringify(
    {
      set: {
        songs: songs.length,
        source: 'mma (GPL tool, output ours) + fluidsynth with FluidR3_GM (MIT)',
        bpmRange: [70, 160],
      },
      accuracy: {
        tempoWithin2Percent: share((s) => s.tempoOk),
        beatFMeasureMean: mean((s) => s.beatF),
        beatFAtLeast09: share((s) => s.beatF >= 0.9),
        downbeatFMeasureMean: mean((s) => s.downbeatF),
        meter: share((s) => s.meterOk),
        key: share((s) => s.keyOk),
      },
      time: {
        songSeconds: Math.round(seconds),
        analysisSeconds: Math.min(...runs),
        realTimeFactor: Math.round(seconds / Math.min(...runs)),
      },
      songs,
    },
    null,
    2,
  ),
);
