# The paper's Figures 10-11: held-out loss against update for SGD and AdamW,
# each at its best learning rate, one panel per model.
#
#   gnuplot -e "in='fig10.csv'; models='resnet18-narrow vgg-small'; out='fig10.png'" scripts/gnuplot/curves.gp
#
# Rows: model,optimizer,lr,step,heldout_loss.
if (!exists("out")) out = 'curves.png'
set datafile separator ','
set terminal pngcairo size 420*words(models),380 enhanced font ',10'
set output out
set xlabel 'update'
set ylabel 'held-out loss'
set key top right font ',8'
set multiplot layout 1, words(models)
do for [k=1:words(models)] {
    m = word(models, k)
    set title m noenhanced
    plot in using 4:((strcol(1) eq m && strcol(2) eq 'sgd') ? $5 : 1/0) with lines lw 1.5 title 'SGD', \
         in using 4:((strcol(1) eq m && strcol(2) eq 'adamw') ? $5 : 1/0) with lines lw 1.5 title 'AdamW'
}
unset multiplot
