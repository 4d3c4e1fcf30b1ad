import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LoadRunReport } from './curve';
import { renderCurveSvg } from './curve-chart';
import { renderCurveCsv } from './curve-csv';
import { renderHtmlReport } from './html-report';
import { renderPng } from './png-renderer';

export interface WrittenReport {
  readonly csvPath: string;
  readonly jsonPath: string;
  readonly svgPath: string;
  readonly pngPath: string;
  readonly htmlPath: string;
  readonly fontFile: string | undefined;
}

/**
 * Writes the run into `directory`: curve.csv and curve.json (the data), curve.svg and curve.png
 * (the chart) and report.html (all of it in one self-contained page). Data first, so a failure
 * while drawing never loses the measurements.
 */
export function writeLoadReport(report: LoadRunReport, directory: string): WrittenReport {
  mkdirSync(directory, { recursive: true });
  const csvPath = join(directory, 'curve.csv');
  const jsonPath = join(directory, 'curve.json');
  const svgPath = join(directory, 'curve.svg');
  const pngPath = join(directory, 'curve.png');
  const htmlPath = join(directory, 'report.html');
  writeFileSync(csvPath, renderCurveCsv(report.seconds));
  writeFileSync(jsonPath, `${JSON.stringify(report, null, 2)}\n`);
  const svg = renderCurveSvg(report, true);
  writeFileSync(svgPath, svg);
  const { png, fontFile } = renderPng(svg);
  writeFileSync(pngPath, png);
  writeFileSync(htmlPath, renderHtmlReport(report, renderCurveSvg(report, false)));
  return { csvPath, jsonPath, svgPath, pngPath, htmlPath, fontFile };
}
