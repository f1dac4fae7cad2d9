// What the app knows about Sony's published X-UMX weights. Data, not code: a new downloadable model is a new entry.

export interface PublishedWeights {
  /** Model id the converted model is installed under (models/<id>/). */
  id: string;
  name: string;
  url: string;
  /** Name of the downloaded file. */
  fileName: string;
  /**
   * Bytes and sha256 of the published file, where known: the download is checked against them. Without them the
   * HDF5 header's declared size and the parameter check (every name and shape) are what catch a wrong file.
   */
  size?: number;
  sha256?: string;
  license: string;
  provenance: string;
  metrics: Record<string, unknown>;
}

export const XUMX_OFFICIAL: PublishedWeights = {
  id: 'xumx-official',
  name: 'X-UMX (Sony, official MUSDB18 weights)',
  url: 'https://nnabla.org/pretrained-models/ai-research-code/x-umx/x-umx.h5',
  fileName: 'x-umx.h5',
  // No size or hash is recorded: the file has not been fetched from this project, and a guessed number would refuse
  // the real file. Whoever first installs it can add both from the CLI's --json output (converted_from in the manifest).
  // sony/ai-research-code publishes the weights from x-umx/x-umx.md under the repository's LICENSE (Apache
  // License 2.0); x-umx.md names no other terms for the file.
  license: 'Apache-2.0 (as stated by sony/ai-research-code, which publishes x-umx.h5)',
  provenance:
    "Sony's X-UMX (CrossNet-Open-Unmix, arXiv 2010.04228) trained on the MUSDB18 training set; nnabla parameter " +
    'file x-umx.h5 from sony/ai-research-code (x-umx/x-umx.md), converted to ONNX on this machine by xumx-studio.',
  metrics: {
    dataset: 'MUSDB18 test set',
    measure: 'median SDR in dB (museval), as published in the X-UMX paper (arXiv 2010.04228)',
    sdr: { vocals: 6.61, drums: 6.47, bass: 5.43, other: 4.64 },
    measured_here: false,
  },
};
