# The paper's Figure 1: the full Hessian's spectral density (every
# parameter, eigenvalues divided by the 10th largest) at 0, 25, 50 and 100%
# of training, one panel per model, one curve per fraction.
#
#   gnuplot -e "in='fig1-training.csv'; models='resnet18-narrow gpt2-small'; out='fig1-training.png'" scripts/gnuplot/fig1-training.gp
#
# `in` is `slq-density --format csv` (model,block,x,density) whose model
# column is hvp-dump's label "MODEL at FRACTION".
if (!exists("out")) out = 'fig1-training.png'
set datafile separator ','
set terminal pngcairo size 520*words(models),420 enhanced font ',10'
set output out
set logscale y
set format y '10^{%L}'
set yrange [1e-6:*]
set xlabel 'eigenvalue / 10th largest'
set ylabel 'density'
set key top right font ',8'
fractions = '0 0.25 0.5 1'
set multiplot layout 1, words(models)
do for [m in models] {
    set title m noenhanced
    plot for [f in fractions] in using 3:((strcol(1) eq sprintf('%s at %s', m, f)) ? $4 : 1/0) \
        with lines lw 1.5 title sprintf('%d%% of training', int(100 * real(f)))
}
unset multiplot
