import { Resvg } from '@resvg/resvg-js';
import { existsSync } from 'node:fs';

/** Environment variable naming a TrueType font file to draw the chart's text with. */
export const chartFontFileVariable = 'CELLPAY_CHART_FONT_FILE';

/**
 * Where DejaVu Sans lies when the distribution's package is installed: Debian and Ubuntu
 * (`fonts-dejavu-core`, which .ci/run installs), Fedora, Arch, Alpine.
 */
export const chartFontCandidates: readonly string[] = [
  '/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf',
  '/usr/share/fonts/dejavu-sans-fonts/DejaVuSans.ttf',
  '/usr/share/fonts/TTF/DejaVuSans.ttf',
  '/usr/share/fonts/dejavu/DejaVuSans.ttf',
];

export interface PngRendering {
  readonly png: Buffer;
  /** The font file used, or undefined when none was found and system fonts were tried. */
  readonly fontFile: string | undefined;
}

/** The font file to use: the variable if set (it must exist), else the first candidate present. */
export function findChartFont(
  environment: NodeJS.ProcessEnv = process.env,
  exists: (path: string) => boolean = existsSync,
): string | undefined {
  const configured = environment[chartFontFileVariable];
  if (configured !== undefined && configured !== '') {
    if (!exists(configured)) {
      throw new Error(`${chartFontFileVariable}=${configured}: no such font file`);
    }
    return configured;
  }
  return chartFontCandidates.find((candidate) => exists(candidate));
}

/**
 * Renders an SVG to PNG in-process with resvg (a native build shipped in its npm package, so no
 * browser or system library is needed). resvg draws text only with a font it was given; without
 * one it falls back to the system's fonts, and on a machine with none the lines still show but
 * the text does not.
 */
export function renderPng(
  svg: string,
  fontFile: string | undefined = findChartFont(),
): PngRendering {
  const resvg = new Resvg(svg, {
    background: '#ffffff',
    font: {
      fontFiles: fontFile === undefined ? [] : [fontFile],
      loadSystemFonts: fontFile === undefined,
      defaultFontFamily: 'DejaVu Sans',
    },
  });
  return { png: resvg.render().asPng(), fontFile };
}
